/* tds_sample (tuodi-sample): determinism, valid identity numbers, every
 * planted scenario in the expected files, the rejected rows as planted, the
 * suspects as the files say (an independent reading of the roster against
 * the department files and the identity numbers), the re-export, and sizes
 * that scale. No broker (tests/sample/itest_sample.c runs the data through
 * the real pipeline). */
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
    "expected/suspects.csv",
    "roster-fix/huainan-roster-2.csv",
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
    } else if (strstr(name, "roster/") || strstr(name, "roster-fix/")) {
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
    check_ids(dir, "roster/huainan-roster.csv", "roster", 15, -1, 26, rej, today, &nrej);
    check_ids(dir, "roster-fix/huainan-roster-2.csv", "roster", 15, -1, 26, rej, today, &nrej);
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
    char *suspects = utf8_of(dir, "expected/suspects.csv");
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
    /* both alerts of X1 and of X2 are HIGH: the earlier one is escalated */
    for (const char *x = alerts, *what = "X1"; what; what = strcmp(what, "X1") == 0 ? "X2" : NULL) {
        char key[32];
        int n = 0;
        snprintf(key, sizeof(key), ",HIGH,%s\n", what);
        for (x = strstr(alerts, key); x; x = strstr(x + 1, key))
            n++;
        CU_ASSERT_EQUAL(n, 2);
    }
    CU_ASSERT(!strstr(alerts, ",HIGH,X3\n"));
    CU_ASSERT(strstr(alerts, ",person,") && strstr(alerts, ",unrouted,"));
    /* the scenarios that must alert are in alerts.csv, those that must not
     * are not; the same for suspects.csv. expect is "none", "rejected", or
     * items joined by '+': an alert rule (text after a space is a comment) or
     * "suspect:" and an indicator */
    char *save = NULL;
    int n = 0, none = 0;
    for (char *l = strtok_r(scen, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        char *f[3] = {NULL, NULL, NULL};
        if (n++ == 0)
            continue;
        CU_ASSERT_FATAL(split(l, f, 3) == 3);
        char key[64], skey[64];
        bool alerts_expected = false, suspects_expected = false;
        snprintf(key, sizeof(key), ",%s\n", f[0]);
        snprintf(skey, sizeof(skey), ",%s,", f[0]);
        if (strcmp(f[1], "none") == 0 || strcmp(f[1], "rejected") == 0) {
            none++;
        } else {
            char *save2 = NULL;
            for (char *item = strtok_r(f[1], "+", &save2); item;
                 item = strtok_r(NULL, "+", &save2)) {
                char rk[96];
                size_t rn = strcspn(item, " ");
                CU_ASSERT_FATAL(rn + 2 < sizeof(rk));
                if (strncmp(item, "suspect:", 8) == 0) {
                    /* "\n<indicator>,...,<scenario>," */
                    suspects_expected = true;
                    snprintf(rk, sizeof(rk), "\n%.*s,", (int)(rn - 8), item + 8);
                    char *at = strstr(suspects, rk);
                    bool found = false;
                    for (; at; at = strstr(at + 1, rk)) {
                        size_t ln = strcspn(at + 1, "\n");
                        char row[512];
                        snprintf(row, sizeof(row), "%.*s,", (int)ln, at + 1);
                        if (strstr(row, skey))
                            found = true;
                    }
                    if (!found)
                        fprintf(stderr, "scenario %s: no suspect %s\n", f[0], rk + 1);
                    CU_ASSERT(found);
                } else {
                    alerts_expected = true;
                    memcpy(rk, item, rn);
                    rk[rn] = ',';
                    rk[rn + 1] = '\0';
                    CU_ASSERT(strstr(alerts, rk) != NULL);
                }
            }
        }
        CU_ASSERT((strstr(alerts, key) != NULL) == alerts_expected);
        CU_ASSERT((strstr(suspects, skey) != NULL) == suspects_expected);
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
    free(suspects);
    td_test_rmtree(dir);
    free(dir);
}

/* ------------------------------------------------ string lists */

typedef struct list_t {
    char **v;
    size_t n, cap;
} list_t;

static void list_push(list_t *l, const char *s)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = realloc(l->v, l->cap * sizeof(*l->v));
        CU_ASSERT_FATAL(l->v != NULL);
    }
    l->v[l->n] = strdup(s);
    CU_ASSERT_FATAL(l->v[l->n] != NULL);
    l->n++;
}

static void list_clear(list_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Equal as multisets; prints the differences. */
static bool same_rows(const char *what, list_t *want, list_t *got)
{
    size_t i = 0, j = 0;
    bool ok = true;
    qsort(want->v, want->n, sizeof(char *), cmp_str);
    qsort(got->v, got->n, sizeof(char *), cmp_str);
    while (i < want->n || j < got->n) {
        int c = i == want->n ? 1 : j == got->n ? -1 : strcmp(want->v[i], got->v[j]);
        if (c == 0) {
            i++;
            j++;
        } else if (c < 0) {
            fprintf(stderr, "%s: expected but not in the files: %s\n", what, want->v[i++]);
            ok = false;
        } else {
            fprintf(stderr, "%s: in the files but not expected: %s\n", what, got->v[j++]);
            ok = false;
        }
    }
    return ok;
}
/* ------------------------------------------------ suspects, independently */

/* The grace of the department indicators in deploy/rules/huainan-2023.yaml:
 * a fact dated D counts from D + 30. */
#define GRACE_DAYS 30

typedef struct r_member {
    char id[TD_IDNUM_LEN + 1];
    int hh;              /* index into households */
    char labour[32], grade[16], sex[8], birth[32], job[8];
} r_member;

typedef struct r_household {
    char id[32], county[8], dibao[8], tekun[8];
    int year;
    double annual;
    bool gone;           /* replaced by the re-export */
} r_household;

typedef struct r_roster {
    r_member m[4096];
    int nm;
    r_household h[1024];
    int nh;
} r_roster;

/* Adds the rows of a roster export (skipping rows rejected.csv lists); a
 * household read again replaces the one read before (the re-export). */
static void read_roster(r_roster *r, const char *dir, const char *name, const char *rej)
{
    char *text = utf8_of(dir, name), *save = NULL;
    long line = 0;
    int first_new = r->nh;
    for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        char *f[40];
        line++;
        l[strcspn(l, "\r")] = '\0';
        if (line == 1 || rejected(rej, "roster", strrchr(name, '/') + 1, line))
            continue;
        CU_ASSERT_FATAL(split(l, f, 40) == 26);
        int k = r->nh - 1;
        if (k < first_new || strcmp(r->h[k].id, f[0]) != 0) {
            for (int j = 0; j < first_new; j++)
                if (strcmp(r->h[j].id, f[0]) == 0)
                    r->h[j].gone = true;
            CU_ASSERT_FATAL(r->nh < 1024);
            k = r->nh++;
            r_household *h = &r->h[k];
            memset(h, 0, sizeof(*h));
            snprintf(h->id, sizeof(h->id), "%s", f[0]);
            snprintf(h->county, sizeof(h->county), "%.6s", f[1]);
            h->year = atoi(f[10]);
            h->annual = atof(f[11]);
            snprintf(h->dibao, sizeof(h->dibao), "%s", f[21]);
            snprintf(h->tekun, sizeof(h->tekun), "%s", f[22]);
        }
        CU_ASSERT_FATAL(r->nm < 4096);
        r_member *m = &r->m[r->nm++];
        CU_ASSERT_FATAL(td_idnum_normalize(f[15], strlen(f[15]), INT32_MAX, m->id, NULL) == 0);
        m->hh = k;
        snprintf(m->labour, sizeof(m->labour), "%s", f[18]);
        snprintf(m->grade, sizeof(m->grade), "%s", f[19]);
        snprintf(m->sex, sizeof(m->sex), "%s", f[23]);
        snprintf(m->birth, sizeof(m->birth), "%s", f[24]);
        snprintf(m->job, sizeof(m->job), "%s", f[25]);
    }
    free(text);
}

/* A department fact: the latest record of its kind for a person. */
typedef struct r_fact {
    char id[TD_IDNUM_LEN + 1];
    char kind[16];       /* death, disability, dibao, tekun, job */
    int32_t day;
    int value;           /* grade; 1 approved/started, 0 cancelled/ended */
} r_fact;

typedef struct r_facts {
    r_fact v[2048];
    int n;
    /* 临时救助 amounts by person and year */
    struct {
        char id[TD_IDNUM_LEN + 1];
        int year;
        double yuan;
    } t[2048];
    int nt;
} r_facts;

static void note_fact(r_facts *fs, const char *id, const char *kind, int32_t day, int value)
{
    for (int i = 0; i < fs->n; i++)
        if (strcmp(fs->v[i].id, id) == 0 && strcmp(fs->v[i].kind, kind) == 0) {
            if (day >= fs->v[i].day) {
                fs->v[i].day = day;
                fs->v[i].value = value;
            }
            return;
        }
    CU_ASSERT_FATAL(fs->n < 2048);
    r_fact *f = &fs->v[fs->n++];
    snprintf(f->id, sizeof(f->id), "%s", id);
    snprintf(f->kind, sizeof(f->kind), "%s", kind);
    f->day = day;
    f->value = value;
}

/* Reads a department file: id_col, date_col, type_col; civil or hr codes. */
static void read_facts(r_facts *fs, const char *dir, const char *name, const char *dataset,
                       int type_col, int id_col, int date_col, int nfields, const char *rej)
{
    char *text = utf8_of(dir, name), *save = NULL;
    long line = 0;
    for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        char *f[40], id[TD_IDNUM_LEN + 1];
        int32_t day;
        line++;
        l[strcspn(l, "\r")] = '\0';
        if (line == 1 || rejected(rej, dataset, strrchr(name, '/') + 1, line))
            continue;
        CU_ASSERT_FATAL(split(l, f, 40) == nfields);
        CU_ASSERT_FATAL(td_idnum_normalize(f[id_col], strlen(f[id_col]), INT32_MAX, id, NULL) ==
                        0);
        CU_ASSERT_FATAL(td_date_parse(f[date_col], strlen(f[date_col]), &day) == 0);
        const char *t = f[type_col];
        if (strcmp(t, "0901") == 0) {
            note_fact(fs, id, "death", day, 1);
        } else if (strcmp(t, "0501") == 0) {
            static const char *const g[] = {"一级", "二级", "三级", "四级"};
            for (int k = 0; k < 4; k++)
                if (strcmp(f[7], g[k]) == 0)
                    note_fact(fs, id, "disability", day, k + 1);
        } else if (strcmp(t, "0102") == 0 || strcmp(t, "0103") == 0) {
            note_fact(fs, id, "dibao", day, strcmp(t, "0102") == 0);
        } else if (strcmp(t, "0201") == 0 || strcmp(t, "0202") == 0) {
            note_fact(fs, id, "tekun", day, strcmp(t, "0201") == 0);
        } else if (strcmp(t, "公益性岗位上岗") == 0 || strcmp(t, "公益性岗位离岗") == 0) {
            note_fact(fs, id, "job", day, strcmp(t, "公益性岗位上岗") == 0);
        }
        if (strcmp(dataset, "civil_affairs") == 0 && *f[6]) {
            int y, m, d;
            td_date_to_ymd(day, &y, &m, &d);
            CU_ASSERT_FATAL(fs->nt < 2048);
            snprintf(fs->t[fs->nt].id, sizeof(fs->t[0].id), "%s", id);
            fs->t[fs->nt].year = y;
            fs->t[fs->nt].yuan = atof(f[6]);
            fs->nt++;
        }
    }
    free(text);
}

static void add_suspect(list_t *l, const char *ind, const r_household *h, const char *subject)
{
    char row[256];
    snprintf(row, sizeof(row), "%s,%s,%s,%s", ind, h->id, subject, h->county);
    list_push(l, row);
}

/* Does out hold a suspect of (indicator, household)? */
static bool listed(const list_t *out, const char *ind, const r_household *h)
{
    char prefix[128];
    snprintf(prefix, sizeof(prefix), "%s,%s,", ind, h->id);
    for (size_t i = 0; i < out->n; i++)
        if (strncmp(out->v[i], prefix, strlen(prefix)) == 0)
            return true;
    return false;
}

/* The suspects of roster r against facts fs on day today, as
 * "indicator,household,subject,queue". */
static void derive(const r_roster *r, const r_facts *fs, int32_t today, list_t *out)
{
    static const char *const grades[] = {"无", "一级", "二级", "三级", "四级"};
    for (int i = 0; i < r->nm; i++) {
        const r_member *m = &r->m[i];
        const r_household *h = &r->h[m->hh];
        int32_t b;
        if (h->gone)
            continue;
        if (*m->sex && strcmp(m->sex, td_idnum_sex(m->id) == 1 ? "男" : "女") != 0)
            add_suspect(out, "sex-differs", h, m->id);
        if (*m->birth) {
            CU_ASSERT_FATAL(td_date_parse(m->birth, strlen(m->birth), &b) == 0);
            if (b != td_idnum_birth_date(m->id))
                add_suspect(out, "birth-date-differs", h, m->id);
        }
        for (int j = 0; j < r->nm; j++)
            if (j != i && !r->h[r->m[j].hh].gone && strcmp(r->m[j].id, m->id) == 0 &&
                r->m[j].hh != m->hh) {
                add_suspect(out, "duplicate-person", h, m->id);
                break;
            }
        for (int k = 0; k < fs->n; k++) {
            const r_fact *f = &fs->v[k];
            if (strcmp(f->id, m->id) != 0 || f->day + GRACE_DAYS > today)
                continue;
            if (strcmp(f->kind, "death") == 0)
                add_suspect(out, "death-still-listed", h, m->id);
            if (strcmp(f->kind, "disability") == 0) {
                if (strcmp(m->grade, grades[f->value]) != 0)
                    add_suspect(out, "disability-grade-differs", h, m->id);
                if (f->value <= 2 &&
                    (strcmp(m->labour, "普通劳动力") == 0 || strcmp(m->labour, "技能劳动力") == 0))
                    add_suspect(out, "able-bodied-severely-disabled", h, m->id);
            }
            if (strcmp(f->kind, "dibao") == 0 || strcmp(f->kind, "tekun") == 0) {
                const char *cell = f->kind[0] == 'd' ? h->dibao : h->tekun;
                char ind[64];
                /* the household's cell: one suspect of the household */
                snprintf(ind, sizeof(ind), "%s-%s", f->kind,
                         f->value ? "not-recorded" : "still-marked");
                if (strcmp(cell, f->value ? "否" : "是") == 0 && !listed(out, ind, h))
                    add_suspect(out, ind, h, "household");
            }
            if (strcmp(f->kind, "job") == 0 && strcmp(m->job, f->value ? "否" : "是") == 0)
                add_suspect(out, f->value ? "welfare-job-not-recorded" : "welfare-job-still-marked",
                            h, m->id);
        }
    }
    for (int k = 0; k < r->nh; k++) {
        const r_household *h = &r->h[k];
        double sum = 0;
        if (h->gone)
            continue;
        for (int t = 0; t < fs->nt; t++)
            for (int i = 0; i < r->nm; i++)
                if (r->m[i].hh == k && strcmp(r->m[i].id, fs->t[t].id) == 0 &&
                    fs->t[t].year == h->year)
                    sum += fs->t[t].yuan;
        if (h->annual + 0.005 < sum)
            add_suspect(out, "income-below-transfers", h, "household");
    }
}

/* expected/suspects.csv says exactly what the files say: the roster read
 * against the civil affairs and human resources files (the latest record of
 * each kind per person, counted 30 days after its date) and against the
 * identity numbers; every suspect indicator of the rules file is there; and
 * after the re-export (roster-fix/) exactly the rows marked "open" remain. */
static void test_suspects(void)
{
    static const char *const indicators[] = {
        "death-still-listed", "disability-grade-differs", "able-bodied-severely-disabled",
        "dibao-not-recorded", "tekun-not-recorded", "dibao-still-marked", "tekun-still-marked",
        "welfare-job-not-recorded", "welfare-job-still-marked", "duplicate-person",
        "birth-date-differs", "sex-differs", "income-below-transfers"};
    static r_roster r;
    static r_facts fs;
    int32_t today = day_of("2026-01-20"); /* early in a year: S28 is of the year before */
    char *dir = gen(11, 400, "2026-01-20", NULL);
    char *rej = utf8_of(dir, "expected/rejected.csv");
    char *exp = utf8_of(dir, "expected/suspects.csv"), *save = NULL;
    list_t want = {0}, want_open = {0}, got = {0}, got_after = {0};
    int n = 0, resolved = 0;

    memset(&r, 0, sizeof(r));
    memset(&fs, 0, sizeof(fs));
    for (char *l = strtok_r(exp, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        char *f[7], row[256];
        if (n++ == 0)
            continue;
        CU_ASSERT_FATAL(split(l, f, 7) == 6);
        snprintf(row, sizeof(row), "%s,%s,%s,%s", f[0], f[1], f[2], f[3]);
        list_push(&want, row);
        if (strcmp(f[5], "open") == 0)
            list_push(&want_open, row);
        else
            resolved++;
        CU_ASSERT(strcmp(f[5], "open") == 0 || strcmp(f[5], "resolved") == 0);
        CU_ASSERT(strncmp(f[1], f[3], 6) == 0); /* queue: the household's county */
    }
    for (size_t i = 0; i < sizeof(indicators) / sizeof(indicators[0]); i++) {
        bool found = false;
        for (size_t k = 0; k < want.n; k++)
            if (strncmp(want.v[k], indicators[i], strlen(indicators[i])) == 0 &&
                want.v[k][strlen(indicators[i])] == ',')
                found = true;
        if (!found)
            fprintf(stderr, "no suspect of indicator %s\n", indicators[i]);
        CU_ASSERT(found);
    }
    CU_ASSERT_EQUAL(resolved, 2);

    read_roster(&r, dir, "roster/huainan-roster.csv", rej);
    read_facts(&fs, dir, "civil_affairs/civil-01.csv", "civil_affairs", 1, 2, 5, 8, rej);
    read_facts(&fs, dir, "human_resources/hr-01.csv", "human_resources", 1, 2, 5, 7, rej);
    derive(&r, &fs, today, &got);
    CU_ASSERT(same_rows("suspects", &want, &got));
    read_roster(&r, dir, "roster-fix/huainan-roster-2.csv", rej);
    derive(&r, &fs, today, &got_after);
    CU_ASSERT(same_rows("suspects after the re-export", &want_open, &got_after));

    list_clear(&want);
    list_clear(&want_open);
    list_clear(&got);
    list_clear(&got_after);
    free(exp);
    free(rej);
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
    /* background households never alert, are never suspects nor rejected */
    CU_ASSERT_EQUAL(big.alerts, small.alerts);
    CU_ASSERT_EQUAL(big.suspects, small.suspects);
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
    TD_TEST(test_suspects);
    TD_TEST(test_sizes);
    TD_TEST(test_bad_options);
}

TD_TEST_MAIN(add_suites)
