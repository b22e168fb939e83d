/* tds_sample: see tds_sample.h and docs/sample-data.md. */
#include "tds_sample.h"

#include "tds_divisions.h"

#include "td_date.h"
#include "td_idnum.h"
#include "td_money.h"

#include <errno.h>
#include <iconv.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ------------------------------------------------------------ random */

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rng_next(rng *r)
{
    uint64_t z = (r->s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* lo..hi inclusive */
static int64_t rng_range(rng *r, int64_t lo, int64_t hi)
{
    return lo + (int64_t)(rng_next(r) % (uint64_t)(hi - lo + 1));
}

/* true with probability pct/100 */
static bool rng_pct(rng *r, int pct)
{
    return rng_range(r, 0, 99) < pct;
}

/* ------------------------------------------------------------ people */

enum { L_NORMAL, L_SKILLED, L_WEAK, L_LOST, L_NONE };
static const char *const labour_txt[] = {"普通劳动力", "技能劳动力", "弱劳动力", "丧失劳动力",
                                         "无劳动力"};
enum { HT_PA, HT_ORD };
enum { MON_NOT, MON_MON, MON_ELIM };
enum { CAT_UNSTABLE, CAT_MARGINAL, CAT_SUDDEN };
static const char *const cat_txt[] = {"脱贫不稳定户", "边缘易致贫户", "突发严重困难户"};

/* How an identity number is written in a department file. */
enum { ID_18, ID_15, ID_LOWER_X, ID_BAD_CHECK, ID_SHORT };

/* A yes/no cell of the roster (享受低保, 特困供养, 公益性岗位): 否 is the
 * zero value, so a household says "no" unless told otherwise. */
enum { TRI_NO = 0, TRI_YES, TRI_EMPTY };
/* The roster's own 性别 and 出生日期 cells against the identity number. */
enum { REC_AGREES = 0, REC_EMPTY, REC_WRONG };

#define MAX_MEMBERS 8

typedef struct person {
    char id[TD_IDNUM_LEN + 1];
    char name[32];
    int32_t birth;
    const char *rel;
    int labour;
    int grade;          /* 0 none */
    const char *school; /* 在校生状况 */
    size_t county;      /* index into tds_counties: address code of the number */
    int rec_sex;        /* REC_*: 性别 as the number says, empty, or the other */
    int rec_birth;      /* REC_*: 出生日期 as the number says, empty, or a day later */
    int birth_style;    /* 0 2023-05-01, 1 2023/5/1, 2 20230501 */
    int job;            /* TRI_*: 公益性岗位 */
} person;

typedef struct household {
    char id[32];
    size_t village;
    char grid[32];
    int type;
    int mon;
    int cat;
    int64_t pc_fen;     /* per-capita net income */
    int n;
    person m[MAX_MEMBERS];
    int bad_member;     /* -1, or the member written with a wrong check character */
    int size_cell;      /* 0: n; else the 家庭人口数 written (a mismatch) */
    const char *risks;
    int dibao, tekun;   /* TRI_*: 享受低保, 特困供养 */
    int income_year;    /* 0: 2023 */
    bool reexport;      /* in the re-export: updated at 23:30 yesterday */
} household;

/* ------------------------------------------------------------ output */

typedef struct out {
    FILE *f;
    iconv_t cd;         /* (iconv_t)-1: UTF-8 */
    long line;          /* lines written, header included */
    char path[4096];
    char base[64];
    const char *dataset;
    int64_t rows;
} out;

enum { O_ROSTER, O_CIVIL, O_MED1, O_MED2, O_HR, O_FIX, O_COUNT };

typedef struct gen {
    const tds_options *opt;
    td_error *err;
    int rc;
    rng r;
    int32_t today;
    int32_t seq_base;
    int32_t seq_days;
    uint16_t *seq;              /* [county][day] sequence numbers used */
    size_t *village_county;     /* village index -> county index */
    uint32_t *village_serial;   /* households made per village */
    out o[O_COUNT];
    FILE *alerts, *rejected, *scen, *suspects;
    long rec_civil, rec_med, rec_hr;
    int nscen;
    tds_stats st;
} gen;

static void fail(gen *g, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void fail(gen *g, int code, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    if (g->rc < 0)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    g->rc = td_error_set(g->err, code, "%s", buf);
}

static void mkdir_p(gen *g, const char *path)
{
    if (mkdir(path, 0755) < 0 && errno != EEXIST)
        fail(g, -errno, "cannot create %s: %s", path, strerror(errno));
}

static void out_bytes(gen *g, out *o, const char *s, size_t n)
{
    if (g->rc < 0)
        return;
    if (fwrite(s, 1, n, o->f) != n)
        fail(g, -EIO, "cannot write %s", o->path);
}

/* One line (UTF-8 text, converted when the file is GB18030), ending in CRLF
 * as the departments' Windows exports do. Returns its line number. */
static long out_line(gen *g, out *o, const char *utf8)
{
    size_t n = strlen(utf8);
    if (o->cd != (iconv_t)-1) {
        char buf[8192];
        char *in = (char *)utf8, *op = buf;
        size_t il = n, ol = sizeof(buf);
        iconv(o->cd, NULL, NULL, NULL, NULL);
        if (n > 2000 || iconv(o->cd, &in, &il, &op, &ol) == (size_t)-1) {
            fail(g, -EINVAL, "%s: cannot convert a line to GB18030", o->path);
            return 0;
        }
        out_bytes(g, o, buf, (size_t)(op - buf));
    } else {
        out_bytes(g, o, utf8, n);
    }
    out_bytes(g, o, "\r\n", 2);
    return ++o->line;
}

static void out_open(gen *g, out *o, const char *dir, const char *name, const char *dataset,
                     bool gb18030, bool bom, const char *header)
{
    char d[3900];
    snprintf(d, sizeof(d), "%s/%s", g->opt->out_dir, dir);
    mkdir_p(g, d);
    snprintf(o->path, sizeof(o->path), "%s/%s", d, name);
    snprintf(o->base, sizeof(o->base), "%s", name);
    o->dataset = dataset;
    o->cd = (iconv_t)-1;
    if (g->rc < 0)
        return;
    o->f = fopen(o->path, "wb");
    if (!o->f) {
        fail(g, -errno, "cannot create %s: %s", o->path, strerror(errno));
        return;
    }
    if (gb18030) {
        o->cd = iconv_open("GB18030", "UTF-8");
        if (o->cd == (iconv_t)-1) {
            fail(g, -ENOTSUP, "iconv: no GB18030");
            return;
        }
        if (bom)
            out_bytes(g, o, "\x84\x31\x95\x33", 4);
    } else if (bom) {
        out_bytes(g, o, "\xef\xbb\xbf", 3);
    }
    out_line(g, o, header);
}

/* Closes the file and writes its marker <file>.done. */
static void out_close(gen *g, out *o)
{
    if (o->f && fclose(o->f) != 0)
        fail(g, -EIO, "cannot write %s", o->path);
    o->f = NULL;
    if (o->cd != (iconv_t)-1)
        iconv_close(o->cd);
    o->cd = (iconv_t)-1;
    if (g->rc == 0 && o->path[0]) {
        char m[4200];
        snprintf(m, sizeof(m), "%s.done", o->path);
        FILE *f = fopen(m, "wb");
        if (!f || fclose(f) != 0)
            fail(g, -EIO, "cannot create %s", m);
    }
}

static FILE *open_plain(gen *g, const char *name, const char *header)
{
    char p[4200];
    FILE *f;
    if (g->rc < 0)
        return NULL;
    snprintf(p, sizeof(p), "%s/expected/%s", g->opt->out_dir, name);
    f = fopen(p, "wb");
    if (!f) {
        fail(g, -errno, "cannot create %s: %s", p, strerror(errno));
        return NULL;
    }
    fprintf(f, "%s\n", header);
    return f;
}

/* ------------------------------------------------------------ dates, ids */

static void fmt_date(int32_t day, const char *style, char *buf, size_t size)
{
    int y, m, d;
    td_date_to_ymd(day, &y, &m, &d);
    if (strcmp(style, "slash") == 0)
        snprintf(buf, size, "%d/%d/%d", y, m, d);
    else if (strcmp(style, "cn") == 0)
        snprintf(buf, size, "%d年%d月%d日", y, m, d);
    else if (strcmp(style, "compact") == 0)
        snprintf(buf, size, "%04d%02d%02d", y, m, d);
    else if (strcmp(style, "time") == 0)
        snprintf(buf, size, "%04d-%02d-%02d %02d:%02d:00", y, m, d, 8 + (d % 9), (m * 7) % 60);
    else
        snprintf(buf, size, "%04d-%02d-%02d", y, m, d);
}

/* The day `years` whole years before `day` (same month and day; 29 Feb
 * becomes 28 Feb). */
static int32_t years_before(int32_t day, int years)
{
    int y, m, d;
    int32_t r;
    td_date_to_ymd(day, &y, &m, &d);
    if (m == 2 && d == 29)
        d = 28;
    td_date_from_ymd(y - years, m, d, &r);
    return r;
}

/* A new identity number for someone born on *birth (moved a day later when
 * that day's 999 sequence numbers are used up) with its address in county.
 * want_x: the check character must be X (for the lower-case x scenarios);
 * legacy: the number must have a 15-digit form (born 1900-1999). */
static void new_id(gen *g, size_t county, int32_t *birth, bool want_x, char ret[TD_IDNUM_LEN + 1])
{
    for (;;) {
        int32_t b = *birth;
        if (b < g->seq_base)
            b = g->seq_base;
        if (b >= g->seq_base + g->seq_days)
            b = g->seq_base + g->seq_days - 1;
        uint16_t *c = &g->seq[county * (size_t)g->seq_days + (size_t)(b - g->seq_base)];
        if (*c >= 999) {
            *birth = b + 1;
            continue;
        }
        (*c)++;
        int y, m, d;
        char body[24];
        td_date_to_ymd(b, &y, &m, &d);
        snprintf(body, sizeof(body), "%.6s%04d%02d%02d%03u", tds_counties[county].county, y, m, d,
                 (unsigned)*c);
        char ck = td_idnum_check_char(body);
        if (want_x && ck != 'X')
            continue;
        memcpy(ret, body, 17);
        ret[17] = ck;
        ret[18] = '\0';
        *birth = b;
        return;
    }
}

/* The identity number as a department writes it. */
static void id_text(const person *p, int form, char *buf, size_t size)
{
    switch (form) {
    case ID_15:
        /* drop the century "19" and the check character */
        snprintf(buf, size, "%.6s%.9s", p->id, p->id + 8);
        break;
    case ID_LOWER_X:
        snprintf(buf, size, "%.17s%c", p->id, p->id[17] == 'X' ? 'x' : p->id[17]);
        break;
    case ID_BAD_CHECK: {
        char wrong = p->id[17] == '0' ? '1' : (p->id[17] == 'X' ? '0' : (char)(p->id[17] - 1));
        snprintf(buf, size, "%.17s%c", p->id, wrong);
        break;
    }
    case ID_SHORT:
        snprintf(buf, size, "%.17s", p->id);
        break;
    default:
        snprintf(buf, size, "%.18s", p->id);
    }
}

static const char *const surnames[] = {"张", "王", "李", "刘", "陈", "杨", "赵", "黄", "周", "吴",
                                       "徐", "孙", "胡", "朱", "高", "林", "何", "郭", "马", "罗",
                                       "梁", "宋", "郑", "谢", "韩", "唐", "冯", "于", "董", "萧"};
static const char *const given[] = {"伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋",
                                    "勇", "艳", "杰", "娟", "涛", "明", "超", "秀", "霞", "平",
                                    "刚", "桂", "英", "华", "玉", "兰", "建", "国", "德", "福"};
#define N_SURNAMES (sizeof(surnames) / sizeof(surnames[0]))
#define N_GIVEN (sizeof(given) / sizeof(given[0]))

static void make_name(rng *r, const char *surname, char *buf, size_t size)
{
    const char *s = surname ? surname : surnames[rng_range(r, 0, N_SURNAMES - 1)];
    if (rng_pct(r, 60))
        snprintf(buf, size, "%s%s%s", s, given[rng_range(r, 0, N_GIVEN - 1)],
                 given[rng_range(r, 0, N_GIVEN - 1)]);
    else
        snprintf(buf, size, "%s%s", s, given[rng_range(r, 0, N_GIVEN - 1)]);
}

/* ------------------------------------------------------------ households */

static size_t county_of_village(gen *g, size_t v)
{
    return g->village_county[v];
}

/* A random village of county index c (any county when c is (size_t)-1). */
static size_t pick_village(gen *g, rng *r, size_t c)
{
    if (c == (size_t)-1)
        return (size_t)rng_range(r, 0, (int64_t)tds_nvillages - 1);
    for (;;) {
        size_t v = (size_t)rng_range(r, 0, (int64_t)tds_nvillages - 1);
        if (g->village_county[v] == c)
            return v;
    }
}

static void hh_init(gen *g, rng *r, household *h, size_t village, int type, int mon,
                    int64_t pc_fen)
{
    memset(h, 0, sizeof(*h));
    h->village = village;
    uint32_t serial = ++g->village_serial[village];
    snprintf(h->id, sizeof(h->id), "%s%05u", tds_villages[village].code, (unsigned)serial);
    snprintf(h->grid, sizeof(h->grid), "%s-%02u", tds_villages[village].code,
             (unsigned)(serial % 12 + 1));
    h->type = type;
    h->mon = mon;
    h->cat = type == HT_PA ? CAT_UNSTABLE : (rng_pct(r, 70) ? CAT_MARGINAL : CAT_SUDDEN);
    h->pc_fen = pc_fen;
    h->bad_member = -1;
    h->risks = mon != MON_NOT ? (rng_pct(r, 50) ? "因病" : "因残、缺劳动力") : "";
}

/* Adds a member born on birth (moved by the id allocator when needed). */
static person *hh_add(gen *g, rng *r, household *h, const char *rel, int32_t birth, int labour,
                      bool want_x)
{
    if (h->n >= MAX_MEMBERS)
        return NULL;
    person *p = &h->m[h->n++];
    memset(p, 0, sizeof(*p));
    p->county = county_of_village(g, h->village);
    p->birth = birth;
    new_id(g, p->county, &p->birth, want_x, p->id);
    p->rel = rel;
    p->labour = labour;
    int age = td_date_age(p->birth, g->today);
    p->school = age >= 6 && age <= 15 ? (age <= 11 ? "小学" : "初中")
                                      : (age >= 16 && age <= 18 ? "高中" : "非在校生");
    char surname[8] = "";
    if (h->n > 1 && strcmp(rel, "配偶") != 0 && strcmp(rel, "之母") != 0) {
        /* the head's surname: the first character (3 bytes) of the name */
        memcpy(surname, h->m[0].name, 3);
        surname[3] = '\0';
    }
    make_name(r, surname[0] ? surname : NULL, p->name, sizeof(p->name));
    return p;
}

/* A birth date for someone aged `age` on today (a random day of that year). */
static int32_t born_aged(gen *g, rng *r, int age)
{
    return years_before(g->today, age) - (int32_t)rng_range(r, 1, 364);
}

/* Head aged head_age, then a family: spouse, children, maybe a parent;
 * `n` members in all (1..6). */
static void hh_family(gen *g, rng *r, household *h, int n, int head_age)
{
    hh_add(g, r, h, "户主", born_aged(g, r, head_age), head_age <= 60 ? L_NORMAL : L_WEAK, false);
    if (n >= 2)
        hh_add(g, r, h, "配偶", born_aged(g, r, head_age - (int)rng_range(r, -3, 4)),
               head_age <= 60 ? L_NORMAL : L_WEAK, false);
    for (int i = 2; i < n && i < 5; i++) {
        int age = head_age - 22 - (int)rng_range(r, 0, 12);
        if (age < 1)
            age = 1;
        hh_add(g, r, h, rng_pct(r, 50) ? "之子" : "之女", born_aged(g, r, age),
               age >= 16 ? (rng_pct(r, 20) ? L_SKILLED : L_NORMAL) : L_NONE, false);
    }
    if (n >= 6)
        hh_add(g, r, h, "之母", born_aged(g, r, head_age + 24 + (int)rng_range(r, 0, 6)), L_LOST,
               false);
}

static void expect_reject(gen *g, const out *o, long line, const char *cls, const char *scen)
{
    if (!g->rejected)
        return;
    fprintf(g->rejected, "%s,%s,%ld,%s,%s\n", o->dataset, o->base, line, cls, scen);
    g->st.rejected++;
}

static const char *tri_txt(int t)
{
    return t == TRI_YES ? "是" : t == TRI_NO ? "否" : "";
}

/* The roster's 性别 and 出生日期 cells of p. */
static void rec_cells(const person *p, char *sex, size_t ssize, char *birth, size_t bsize)
{
    static const char *const styles[] = {"iso", "slash", "compact"};
    int male = td_idnum_sex(p->id) == 1;
    int32_t b = td_idnum_birth_date(p->id);

    snprintf(sex, ssize, "%s", p->rec_sex == REC_EMPTY ? "" : (male != (p->rec_sex == REC_WRONG))
                                                                   ? "男"
                                                                   : "女");
    birth[0] = '\0';
    if (p->rec_birth == REC_EMPTY)
        return;
    if (p->rec_birth == REC_WRONG)
        b++;
    fmt_date(b, styles[p->birth_style], birth, bsize);
}

/* Writes h's rows to the roster export o (the first, or the re-export). */
static void write_household_to(gen *g, out *o, const household *h)
{
    char annual[32], pc[32], ident[32] = "", elim[32] = "", updated[32], line[2048], id[32];
    char sex[8], birth[32];
    const char *mon = h->mon == MON_MON ? "是" : h->mon == MON_ELIM ? "已消除风险" : "否";
    static const char *const grades[] = {"无", "一级", "二级", "三级", "四级"};

    td_money_format_yuan(h->pc_fen * h->n, annual, sizeof(annual));
    td_money_format_yuan(h->pc_fen, pc, sizeof(pc));
    if (h->mon != MON_NOT)
        fmt_date(g->today - 400, "slash", ident, sizeof(ident));
    if (h->mon == MON_ELIM)
        fmt_date(g->today - 100, "slash", elim, sizeof(elim));
    fmt_date(g->today - 1, "time", updated, sizeof(updated));
    if (h->reexport) {
        /* later the same evening, after the villages' fixes: after the first
         * export and never in the future */
        fmt_date(g->today - 1, "iso", updated, sizeof(updated));
        strcat(updated, " 23:30:00");
    }
    for (int i = 0; i < h->n; i++) {
        const person *p = &h->m[i];
        id_text(p, i == h->bad_member ? ID_BAD_CHECK : ID_18, id, sizeof(id));
        rec_cells(p, sex, sizeof(sex), birth, sizeof(birth));
        snprintf(line, sizeof(line),
                 "%s,%s,%s,%s,%s,%s,%s,%s,%s,%d,%d,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s",
                 h->id, tds_villages[h->village].code, h->grid,
                 h->type == HT_PA ? "脱贫户" : "一般农户", mon,
                 h->mon != MON_NOT ? cat_txt[h->cat] : "", ident, elim,
                 h->mon == MON_ELIM ? "产业帮扶" : "", h->size_cell ? h->size_cell : h->n,
                 h->income_year ? h->income_year : 2023, annual, pc, h->risks, updated, id,
                 p->name, p->rel, labour_txt[p->labour], grades[p->grade], p->school,
                 tri_txt(h->dibao), tri_txt(h->tekun), sex, birth, tri_txt(p->job));
        long ln = out_line(g, o, line);
        if (h->bad_member >= 0)
            expect_reject(g, o, ln, "household", "R1");
        else if (h->size_cell)
            expect_reject(g, o, ln, "household", "R2");
        if (o == &g->o[O_ROSTER])
            g->st.people++;
    }
    if (o == &g->o[O_ROSTER])
        g->st.households++;
}

static void write_household(gen *g, const household *h)
{
    write_household_to(g, &g->o[O_ROSTER], h);
}

/* ------------------------------------------------------------ records */

static const char *village_cell(const household *h)
{
    return h ? tds_villages[h->village].code : "";
}

/* One settlement of p in medical file `file` (O_MED1 or O_MED2). */
static long med(gen *g, int file, const person *p, const char *village, int32_t day,
                int64_t oop_fen, int idform)
{
    out *o = &g->o[file];
    char id[32], date[40], total[32], fund[32], oop[32], line[1024];
    int64_t fund_fen = oop_fen * 2 + 1234;
    static const char *const kinds[] = {"21", "11", "14", "住院", "门诊"};
    id_text(p, idform, id, sizeof(id));
    fmt_date(day, "time", date, sizeof(date));
    td_money_format_yuan(oop_fen + fund_fen, total, sizeof(total));
    td_money_format_yuan(fund_fen, fund, sizeof(fund));
    td_money_format_yuan(oop_fen, oop, sizeof(oop));
    ++g->rec_med;
    snprintf(line, sizeof(line), "YB%08ld,%s,%s,%s,%s,%s,%s,%s,%s,%s", g->rec_med, id, p->name,
             village ? village : "", date, kinds[g->rec_med % 5], total, fund, oop,
             oop_fen > 1000000 ? "是" : (g->rec_med % 3 ? "否" : ""));
    g->st.records++;
    return out_line(g, o, line);
}

static const char *civil_code(const char *ev)
{
    static const struct {
        const char *ev, *code;
    } m[] = {{"DIBAO_APPLIED", "0101"},   {"DIBAO_APPROVED", "0102"},
             {"DIBAO_CANCELLED", "0103"}, {"TEKUN_APPROVED", "0201"},
             {"TEKUN_CANCELLED", "0202"}, {"TEMP", "0401"},
             {"DISABILITY", "0501"},      {"DEATH", "0901"}};
    for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
        if (strcmp(m[i].ev, ev) == 0)
            return m[i].code;
    return ev; /* a bad code, written as given */
}

/* One civil affairs event; amount_fen < 0: none; grade 0: none. */
static long civil(gen *g, const person *p, const char *village, const char *ev, int32_t day,
                  int64_t amount_fen, int grade, int idform)
{
    out *o = &g->o[O_CIVIL];
    char id[32], date[40], amount[32] = "", line[1024];
    static const char *const grades[] = {"", "一级", "二级", "三级", "四级"};
    id_text(p, idform, id, sizeof(id));
    fmt_date(day, "iso", date, sizeof(date));
    if (amount_fen >= 0)
        td_money_format_yuan(amount_fen, amount, sizeof(amount));
    snprintf(line, sizeof(line), "MZ%08ld,%s,%s,%s,%s,%s,%s,%s", ++g->rec_civil, civil_code(ev),
             id, p->name, village ? village : "", date, amount, grades[grade]);
    g->st.records++;
    return out_line(g, o, line);
}

/* One human resources event; months < 0: none. */
static long hr(gen *g, const person *p, const char *village, const char *ev, int32_t day,
               int months, int idform)
{
    out *o = &g->o[O_HR];
    char id[32], date[40], mo[16] = "", line[1024];
    id_text(p, idform, id, sizeof(id));
    fmt_date(day, "cn", date, sizeof(date));
    if (months >= 0)
        snprintf(mo, sizeof(mo), "%d", months);
    snprintf(line, sizeof(line), "RS%08ld,%s,%s,%s,%s,%s,%s", ++g->rec_hr, ev, id, p->name,
             village ? village : "", date, mo);
    g->st.records++;
    return out_line(g, o, line);
}

/* ------------------------------------------------------------ expectations */

static void scenario(gen *g, const char *id, const char *expect, const char *desc)
{
    if (g->scen)
        fprintf(g->scen, "%s,%s,%s\n", id, expect, desc);
    g->nscen++;
}

static void expect_hh(gen *g, const char *rule, const household *h, const char *sev,
                      const char *scen)
{
    if (g->alerts)
        fprintf(g->alerts, "%s,household,%s,%s,%s,%s\n", rule, h->id,
                tds_villages[h->village].county, sev, scen);
    g->st.alerts++;
}

static void expect_person(gen *g, const char *rule, const person *p, const char *village,
                          const char *sev, const char *scen)
{
    char queue[16];
    snprintf(queue, sizeof(queue), "%.6s", village && *village ? village : "");
    if (g->alerts)
        fprintf(g->alerts, "%s,person,%s,%s,%s,%s\n", rule, p->id,
                queue[0] ? queue : "unrouted", sev, scen);
    g->st.alerts++;
}

/* A suspect of the suspicious-data list: indicator (a suspect rule of
 * deploy/rules/huainan-2023.yaml) about household h, of member p (NULL: the
 * household as a whole); fixed: the roster re-export (roster-fix/) resolves
 * it. */
static void expect_suspect(gen *g, const char *indicator, const household *h, const person *p,
                           const char *scen, bool fixed)
{
    if (g->suspects)
        fprintf(g->suspects, "%s,%s,%s,%s,%s,%s\n", indicator, h->id, p ? p->id : "household",
                tds_villages[h->village].county, scen, fixed ? "resolved" : "open");
    g->st.suspects++;
}

/* ------------------------------------------------------------ planted */

#define YUAN(y) ((int64_t)(y) * 100)

typedef struct planted {
    gen *g;
    rng *r;
    int k;               /* scenarios made: spreads them over the counties */
    household h;         /* the one being made */
} planted;

/* A planted household of `n` members, head aged 45, in a village of the next
 * county in turn; written to the roster. */
static household *P(planted *pl, int type, int mon, int64_t pc_fen, int n)
{
    gen *g = pl->g;
    size_t c = (size_t)(pl->k++ % (int)tds_ncounties);
    hh_init(g, pl->r, &pl->h, pick_village(g, pl->r, c), type, mon, pc_fen);
    hh_family(g, pl->r, &pl->h, n, 45);
    return &pl->h;
}

/* Like P, in county index c (the turn does not move). */
static household *Pc(planted *pl, size_t c, int type, int mon, int64_t pc_fen, int n)
{
    gen *g = pl->g;
    hh_init(g, pl->r, &pl->h, pick_village(g, pl->r, c), type, mon, pc_fen);
    hh_family(g, pl->r, &pl->h, n, 45);
    return &pl->h;
}

/* Someone not on the roster, aged `age` at day (0: today), with an address
 * code in the next county in turn; *village_out (may be NULL) gets a village
 * of that county. */
static void off_roster(planted *pl, person *p, int age, int32_t day, bool want_x)
{
    gen *g = pl->g;
    memset(p, 0, sizeof(*p));
    p->county = (size_t)(pl->k++ % (int)tds_ncounties);
    p->birth = years_before(day ? day : g->today, age) - (int32_t)rng_range(pl->r, 1, 200);
    new_id(g, p->county, &p->birth, want_x, p->id);
    p->rel = "";
    make_name(pl->r, NULL, p->name, sizeof(p->name));
}

static const char *village_in(planted *pl, const person *p)
{
    return tds_villages[pick_village(pl->g, pl->r, p->county)].code;
}

/* Member i of h made exactly `age` on day (a fresh identity number). */
static person *aged_member(planted *pl, household *h, int i, int age, int32_t day, int labour)
{
    gen *g = pl->g;
    person *p = &h->m[i];
    p->birth = years_before(day, age);
    new_id(g, p->county, &p->birth, false, p->id);
    /* the allocator may move the birth a day later when a day is full: still
     * the same whole age unless that crosses a birthday; move back then */
    if (td_date_age(p->birth, day) != age) {
        p->birth = years_before(day, age) - 1;
        new_id(g, p->county, &p->birth, false, p->id);
    }
    p->labour = labour;
    if (age > 45)
        p->rel = td_idnum_sex(p->id) == 1 ? "之父" : "之母";
    p->school = age >= 16 && age <= 18 ? "高中" : (age < 16 ? "初中" : "非在校生");
    return p;
}

/* The suspicious-data list: for each indicator of the suspect rules of
 * deploy/rules/huainan-2023.yaml, households whose roster contradicts a
 * department (or the identity number) and near misses that must not be
 * suspects. Department facts the suspects rest on are dated 60 days ago,
 * well past the rules' grace of 30 days; the "not yet" near misses 20 days
 * ago (so that a run crossing midnight does not change them). Every 低保 /
 * 特困 approval and every grade 1-2 certification is also an alert (rules
 * dibao-tekun, severe-disability): those scenarios expect both. Two suspects
 * of 凤台县 (S11, S24) are fixed by the re-export roster-fix/. */
#define SUS_AGO 60
#define NOT_YET_AGO 20
#define FIX_COUNTY 5 /* 340421 凤台县, the county the demo's list shows */

static void plant_suspects(planted *pl)
{
    gen *g = pl->g;
    int32_t T = g->today;
    household *h, fix1, fix2;
    person *p, gone;

    memset(&fix1, 0, sizeof(fix1));
    memset(&fix2, 0, sizeof(fix2));

    /* ---- death-still-listed ---- */
    {
        static const struct {
            const char *id;
            int ago;
            bool listed;
            const char *expect, *desc;
        } ds[] = {
            {"S1", SUS_AGO, true, "suspect:death-still-listed",
             "death registered 60 days ago (15-digit number), aged 72, still listed"},
            {"S2", NOT_YET_AGO, true, "none",
             "death registered 20 days ago (fewer than the 30 grace days), still listed"},
            {"S3", SUS_AGO, false, "none",
             "death registered 60 days ago; the roster no longer lists her"},
        };
        for (size_t i = 0; i < sizeof(ds) / sizeof(ds[0]); i++) {
            int32_t day = T - ds[i].ago;
            h = P(pl, HT_ORD, MON_NOT, 900000, 4);
            p = aged_member(pl, h, 3, 72, day, L_LOST);
            gone = *p;
            if (!ds[i].listed)
                h->n--; /* the village removed the member (减员) */
            write_household(g, h);
            civil(g, &gone, village_cell(h), "DEATH", day, -1, 0, i == 0 ? ID_15 : ID_18);
            if (ds[i].listed && ds[i].ago >= 30)
                expect_suspect(g, "death-still-listed", h, p, ds[i].id, false);
            scenario(g, ds[i].id, ds[i].expect, ds[i].desc);
        }
    }

    /* ---- disability: grade differs; able-bodied with grade 1-2 ---- */
    {
        static const struct {
            const char *id;
            int roster_grade, certified, labour, ago;
            const char *alert, *suspect, *expect, *desc;
        } ds[] = {
            {"S4", 4, 3, L_NORMAL, SUS_AGO, NULL, "disability-grade-differs",
             "suspect:disability-grade-differs", "grade 3 certified, the roster says 四级"},
            {"S5", 0, 4, L_NORMAL, SUS_AGO, NULL, "disability-grade-differs",
             "suspect:disability-grade-differs", "grade 4 certified, the roster says 无"},
            {"S6", 3, 3, L_NORMAL, SUS_AGO, NULL, NULL, "none",
             "grade 3 certified, the roster says 三级 (普通劳动力: grade 3 is not severe)"},
            {"S7", 0, 4, L_NORMAL, NOT_YET_AGO, NULL, NULL, "none",
             "grade 4 certified 20 days ago (within the grace), the roster says 无"},
            {"S8", 2, 2, L_NORMAL, SUS_AGO, "severe-disability", "able-bodied-severely-disabled",
             "severe-disability+suspect:able-bodied-severely-disabled",
             "grade 2 certified, the roster says 二级 and 普通劳动力"},
            {"S9", 2, 2, L_SKILLED, SUS_AGO, "severe-disability", "able-bodied-severely-disabled",
             "severe-disability+suspect:able-bodied-severely-disabled",
             "grade 2 certified, the roster says 二级 and 技能劳动力"},
            {"S10", 1, 1, L_WEAK, SUS_AGO, "severe-disability", NULL, "severe-disability",
             "grade 1 certified, the roster says 一级 and 弱劳动力 (not able-bodied)"},
        };
        for (size_t i = 0; i < sizeof(ds) / sizeof(ds[0]); i++) {
            h = P(pl, HT_ORD, MON_NOT, 900000, 3);
            p = &h->m[1];
            p->grade = ds[i].roster_grade;
            p->labour = ds[i].labour;
            write_household(g, h);
            civil(g, p, village_cell(h), "DISABILITY", T - ds[i].ago, -1, ds[i].certified, ID_18);
            if (ds[i].alert)
                expect_hh(g, ds[i].alert, h, "MEDIUM", ds[i].id);
            if (ds[i].suspect)
                expect_suspect(g, ds[i].suspect, h, p, ds[i].id, false);
            scenario(g, ds[i].id, ds[i].expect, ds[i].desc);
        }
    }

    /* ---- 低保 / 特困: approved but not recorded, ended but still marked ---- */
    {
        static const struct {
            const char *id, *event;
            int dibao, tekun, ago;
            bool fixed;
            const char *suspect, *expect, *desc;
        } ds[] = {
            {"S11", "DIBAO_APPROVED", TRI_NO, TRI_NO, SUS_AGO, true, "dibao-not-recorded",
             "dibao-tekun+suspect:dibao-not-recorded",
             "低保 approved 60 days ago, the roster says 享受低保 否 (the re-export says 是)"},
            {"S12", "DIBAO_APPROVED", TRI_EMPTY, TRI_NO, SUS_AGO, false, NULL, "dibao-tekun",
             "低保 approved 60 days ago, the roster's 享受低保 is empty (silent)"},
            {"S13", "DIBAO_APPROVED", TRI_NO, TRI_NO, NOT_YET_AGO, false, NULL, "dibao-tekun",
             "低保 approved 20 days ago (within the grace), the roster says 否"},
            {"S14", "TEKUN_APPROVED", TRI_NO, TRI_NO, SUS_AGO, false, "tekun-not-recorded",
             "dibao-tekun+suspect:tekun-not-recorded",
             "特困 approved 60 days ago, the roster says 特困供养 否"},
            {"S15", "DIBAO_CANCELLED", TRI_YES, TRI_NO, SUS_AGO, false, "dibao-still-marked",
             "suspect:dibao-still-marked", "低保 cancelled 60 days ago, the roster says 是"},
            {"S16", "DIBAO_CANCELLED", TRI_YES, TRI_NO, NOT_YET_AGO, false, NULL, "none",
             "低保 cancelled 20 days ago (within the grace), the roster says 是"},
            {"S17", "TEKUN_CANCELLED", TRI_NO, TRI_YES, SUS_AGO, false, "tekun-still-marked",
             "suspect:tekun-still-marked", "特困 ended 60 days ago (code 0202), the roster says 是"},
        };
        for (size_t i = 0; i < sizeof(ds) / sizeof(ds[0]); i++) {
            h = ds[i].fixed ? Pc(pl, FIX_COUNTY, HT_PA, MON_NOT, 900000, 3)
                            : P(pl, HT_PA, MON_NOT, 900000, 3);
            h->dibao = ds[i].dibao;
            h->tekun = ds[i].tekun;
            write_household(g, h);
            p = &h->m[0];
            civil(g, p, village_cell(h), ds[i].event, T - ds[i].ago, -1, 0, ID_18);
            if (strstr(ds[i].event, "APPROVED"))
                expect_hh(g, "dibao-tekun", h, "MEDIUM", ds[i].id);
            /* 享受低保 and 特困供养 are the household's: so is the suspect */
            if (ds[i].suspect)
                expect_suspect(g, ds[i].suspect, h, NULL, ds[i].id, ds[i].fixed);
            scenario(g, ds[i].id, ds[i].expect, ds[i].desc);
            if (ds[i].fixed) {
                fix1 = *h;
                fix1.dibao = TRI_YES;
            }
        }
    }

    /* ---- public-welfare jobs (aged 62: ending one is no employment-loss alert) ---- */
    {
        static const struct {
            const char *id, *event;
            int job, ago;
            const char *suspect, *expect, *desc;
        } ds[] = {
            {"S18", "公益性岗位上岗", TRI_NO, SUS_AGO, "welfare-job-not-recorded",
             "suspect:welfare-job-not-recorded",
             "public-welfare job started 60 days ago, the roster says 公益性岗位 否"},
            {"S19", "公益性岗位上岗", TRI_EMPTY, SUS_AGO, NULL, "none",
             "public-welfare job started 60 days ago, the roster's cell is empty (silent)"},
            {"S20", "公益性岗位离岗", TRI_YES, SUS_AGO, "welfare-job-still-marked",
             "suspect:welfare-job-still-marked",
             "public-welfare job ended 60 days ago, the roster says 是"},
            {"S21", "公益性岗位离岗", TRI_YES, NOT_YET_AGO, NULL, "none",
             "public-welfare job ended 20 days ago (within the grace), the roster says 是"},
        };
        for (size_t i = 0; i < sizeof(ds) / sizeof(ds[0]); i++) {
            int32_t day = T - ds[i].ago;
            h = P(pl, HT_ORD, MON_NOT, 900000, 4);
            p = aged_member(pl, h, 2, 62, day, L_WEAK);
            p->job = ds[i].job;
            write_household(g, h);
            hr(g, p, village_cell(h), ds[i].event, day, -1, ID_18);
            if (ds[i].suspect)
                expect_suspect(g, ds[i].suspect, h, p, ds[i].id, false);
            scenario(g, ds[i].id, ds[i].expect, ds[i].desc);
        }
    }

    /* ---- one person on two households ---- */
    {
        household a;
        size_t c = (size_t)(pl->k % (int)tds_ncounties);

        /* a grown child who set up a household is still listed in the parents' */
        a = *Pc(pl, c, HT_ORD, MON_NOT, 900000, 3);
        person *son = aged_member(pl, &a, 2, 26, T, L_NORMAL);
        son->rel = td_idnum_sex(son->id) == 1 ? "之子" : "之女";
        write_household(g, &a);
        h = P(pl, HT_ORD, MON_NOT, 900000, 2);
        h->m[0] = *son;
        h->m[0].rel = "户主";
        write_household(g, h);
        expect_suspect(g, "duplicate-person", &a, son, "S22", false);
        expect_suspect(g, "duplicate-person", h, &h->m[0], "S22", false);
        scenario(g, "S22", "suspect:duplicate-person",
                 "the same identity number on two households (a grown child's own and the "
                 "parents')");

        /* two people of the same name and birth date, two numbers */
        a = *P(pl, HT_ORD, MON_NOT, 900000, 2);
        write_household(g, &a);
        h = P(pl, HT_ORD, MON_NOT, 900000, 2);
        h->m[1].birth = a.m[1].birth;
        h->m[1].county = a.m[1].county;
        new_id(g, h->m[1].county, &h->m[1].birth, false, h->m[1].id);
        snprintf(h->m[1].name, sizeof(h->m[1].name), "%s", a.m[1].name);
        write_household(g, h);
        scenario(g, "S23", "none",
                 "two households each list someone of the same name and birth date, with two "
                 "identity numbers");
    }

    /* ---- birth date and sex against the identity number ---- */
    h = Pc(pl, FIX_COUNTY, HT_ORD, MON_NOT, 900000, 3);
    h->m[1].rec_birth = REC_WRONG;
    write_household(g, h);
    expect_suspect(g, "birth-date-differs", h, &h->m[1], "S24", true);
    scenario(g, "S24", "suspect:birth-date-differs",
             "出生日期 a day after the identity number's (the re-export corrects it)");
    fix2 = *h;
    fix2.m[1].rec_birth = REC_AGREES;
    h = P(pl, HT_ORD, MON_NOT, 900000, 3);
    h->m[0].birth_style = 1;
    h->m[1].birth_style = 2;
    h->m[2].rec_birth = REC_EMPTY;
    write_household(g, h);
    scenario(g, "S25", "none", "出生日期 as the number says, written 2023/5/1 and 20230501; one empty");
    h = P(pl, HT_ORD, MON_NOT, 900000, 3);
    h->m[0].rec_sex = REC_WRONG;
    write_household(g, h);
    expect_suspect(g, "sex-differs", h, &h->m[0], "S26", false);
    scenario(g, "S26", "suspect:sex-differs", "性别 is not the one the identity number says");
    h = P(pl, HT_ORD, MON_NOT, 900000, 3);
    for (int i = 0; i < h->n; i++)
        h->m[i].rec_sex = REC_EMPTY;
    write_household(g, h);
    scenario(g, "S27", "none", "性别 empty for every member (silent)");

    /* ---- income below the transfers: monitored households (income-below-line
     * does not judge them), three 临时救助 of 900.00 (under that rule's 1000)
     * in one calendar year, which is the roster's income year ---- */
    {
        int32_t base = T - SUS_AGO;
        int y0, y2, m, d;

        for (;;) {
            td_date_to_ymd(base, &y0, &m, &d);
            td_date_to_ymd(base - 2, &y2, &m, &d);
            if (y0 == y2)
                break;
            base -= 3;
        }
        for (int i = 0; i < 2; i++) {
            const char *id = i == 0 ? "S28" : "S29";
            h = P(pl, HT_ORD, MON_MON, i == 0 ? YUAN(2000) : YUAN(2700), 1);
            h->income_year = y0;
            write_household(g, h);
            for (int k = 0; k < 3; k++)
                civil(g, &h->m[0], village_cell(h), "TEMP", base - k, YUAN(900), 0, ID_18);
            if (i == 0) {
                expect_suspect(g, "income-below-transfers", h, NULL, id, false);
                scenario(g, id, "suspect:income-below-transfers",
                         "annual net income 2000.00 of the year of three 临时救助 of 900.00 "
                         "(2700.00)");
            } else {
                scenario(g, id, "none",
                         "annual net income 2700.00, exactly the 临时救助 of its year");
            }
        }
    }

    /* the re-export: the two households of 凤台县, corrected */
    fix1.reexport = true;
    fix2.reexport = true;
    write_household_to(g, &g->o[O_FIX], &fix1);
    write_household_to(g, &g->o[O_FIX], &fix2);
}

static void plant(gen *g)
{
    planted pl;
    int32_t T = g->today;
    household *h;
    person op;
    const char *v;

    memset(&pl, 0, sizeof(pl));
    pl.g = g;
    pl.r = &g->r;

    /* ---- income below the line (roster) ---- */
    h = P(&pl, HT_PA, MON_NOT, 789999, 3);
    write_household(g, h);
    expect_hh(g, "income-below-line", h, "MEDIUM", "I1");
    scenario(g, "I1", "income-below-line", "脱贫户 not monitored; per capita 7899.99 < 7900");
    h = P(&pl, HT_ORD, MON_NOT, 789999, 4);
    write_household(g, h);
    expect_hh(g, "income-below-line", h, "MEDIUM", "I2");
    scenario(g, "I2", "income-below-line", "一般农户 not monitored; per capita 7899.99 < 7900");
    h = P(&pl, HT_PA, MON_NOT, 790000, 3);
    write_household(g, h);
    scenario(g, "I3", "none", "脱贫户 not monitored; per capita 7900.00 (at the line)");
    h = P(&pl, HT_ORD, MON_NOT, 790000, 2);
    write_household(g, h);
    scenario(g, "I4", "none", "一般农户 not monitored; per capita 7900.00 (at the line)");
    h = P(&pl, HT_ORD, MON_MON, 500000, 3);
    write_household(g, h);
    scenario(g, "I5", "none", "monitored household; per capita 5000.00 (monitored: not judged)");
    h = P(&pl, HT_PA, MON_ELIM, 700000, 3);
    write_household(g, h);
    expect_hh(g, "income-below-line", h, "MEDIUM", "I6");
    scenario(g, "I6", "income-below-line", "risk eliminated (not monitored); per capita 7000.00");

    /* ---- medical out-of-pocket, 365 days ---- */
    h = P(&pl, HT_PA, MON_NOT, 900000, 3);
    write_household(g, h);
    med(g, O_MED1, &h->m[0], village_cell(h), T - 200, YUAN(3000), ID_18);
    med(g, O_MED1, &h->m[0], village_cell(h), T - 100, 199999, ID_18);
    scenario(g, "M1", "none", "脱贫户: 3000.00 + 1999.99 = 4999.99 < 5000");
    h = P(&pl, HT_PA, MON_NOT, 900000, 3);
    write_household(g, h);
    med(g, O_MED1, &h->m[0], village_cell(h), T - 200, YUAN(3000), ID_18);
    med(g, O_MED1, &h->m[0], village_cell(h), T - 100, YUAN(2000), ID_15);
    expect_hh(g, "medical-oop-365d", h, "MEDIUM", "M2");
    scenario(g, "M2", "medical-oop-365d",
             "脱贫户: 3000.00 + 2000.00 = 5000 (the second with the 15-digit number)");
    h = P(&pl, HT_ORD, MON_MON, 900000, 3);
    write_household(g, h);
    med(g, O_MED1, &h->m[1], village_cell(h), T - 90, 499999, ID_18);
    scenario(g, "M3", "none", "monitored 一般农户: 4999.99 < 5000");
    h = P(&pl, HT_ORD, MON_MON, 900000, 3);
    h->m[1].birth = born_aged(g, pl.r, 43);
    new_id(g, h->m[1].county, &h->m[1].birth, true, h->m[1].id);
    write_household(g, h);
    med(g, O_MED1, &h->m[1], village_cell(h), T - 90, YUAN(5000), ID_LOWER_X);
    expect_hh(g, "medical-oop-365d", h, "MEDIUM", "M4");
    scenario(g, "M4", "medical-oop-365d", "monitored 一般农户: 5000.00 (number written with x)");
    h = P(&pl, HT_ORD, MON_NOT, YUAN(40000), 3);
    write_household(g, h);
    med(g, O_MED1, &h->m[0], village_cell(h), T - 80, 1999999, ID_18);
    scenario(g, "M5", "none", "一般农户, annual income 120000: 19999.99 < 20000");
    h = P(&pl, HT_ORD, MON_NOT, YUAN(40000), 3);
    write_household(g, h);
    med(g, O_MED1, &h->m[0], village_cell(h), T - 80, YUAN(20000), ID_18);
    expect_hh(g, "medical-oop-365d", h, "MEDIUM", "M6");
    scenario(g, "M6", "medical-oop-365d", "一般农户, annual income 120000: 20000.00");
    h = P(&pl, HT_ORD, MON_NOT, YUAN(8000), 3);
    write_household(g, h);
    med(g, O_MED1, &h->m[2], village_cell(h), T - 70, 1199999, ID_18);
    scenario(g, "M7", "none", "一般农户, annual income 24000: 11999.99 < 50% (12000)");
    h = P(&pl, HT_ORD, MON_NOT, YUAN(8000), 3);
    write_household(g, h);
    med(g, O_MED1, &h->m[2], village_cell(h), T - 70, YUAN(12000), ID_18);
    expect_hh(g, "medical-oop-365d", h, "MEDIUM", "M8");
    scenario(g, "M8", "medical-oop-365d", "一般农户, annual income 24000: 12000.00 = 50%");
    h = P(&pl, HT_PA, MON_NOT, 900000, 2);
    write_household(g, h);
    med(g, O_MED1, &h->m[0], village_cell(h), T - 60, YUAN(2500), ID_18);
    med(g, O_MED2, &h->m[1], village_cell(h), T - 60, YUAN(2500), ID_18);
    expect_hh(g, "medical-oop-365d", h, "MEDIUM", "M9");
    scenario(g, "M9", "medical-oop-365d",
             "脱贫户: two members 2500.00 each on the same day (household sum 5000)");
    h = P(&pl, HT_PA, MON_NOT, 900000, 3);
    write_household(g, h);
    med(g, O_MED1, &h->m[0], village_cell(h), T - 150, YUAN(6000), ID_18);
    med(g, O_MED1, &h->m[0], village_cell(h), T - 50, YUAN(1000), ID_18);
    expect_hh(g, "medical-oop-365d", h, "MEDIUM", "M10");
    scenario(g, "M10", "medical-oop-365d",
             "脱贫户: 6000.00, then 1000.00 while the alert is open (suppressed: one alert)");
    h = P(&pl, HT_PA, MON_NOT, 900000, 3);
    write_household(g, h);
    med(g, O_MED1, &h->m[0], village_cell(h), T - 400, YUAN(4000), ID_18);
    med(g, O_MED1, &h->m[0], village_cell(h), T - 20, YUAN(2000), ID_18);
    scenario(g, "M11", "none", "脱贫户: 4000.00 400 days ago + 2000.00 (only 2000 in 365 days)");
    off_roster(&pl, &op, 50, 0, false);
    v = village_in(&pl, &op);
    med(g, O_MED1, &op, v, T - 45, 1999999, ID_18);
    scenario(g, "M12", "none", "not on the roster: 19999.99 < 20000");
    off_roster(&pl, &op, 52, 0, false);
    v = village_in(&pl, &op);
    med(g, O_MED1, &op, v, T - 45, YUAN(20000), ID_18);
    expect_person(g, "medical-oop-365d", &op, v, "MEDIUM", "M13");
    scenario(g, "M13", "medical-oop-365d", "not on the roster: 20000.00; routed by its village");
    off_roster(&pl, &op, 48, 0, false);
    med(g, O_MED2, &op, NULL, T - 44, YUAN(25000), ID_18);
    expect_person(g, "medical-oop-365d", &op, NULL, "MEDIUM", "M14");
    scenario(g, "M14", "medical-oop-365d", "not on the roster, no village: 25000.00 -> unrouted");

    /* ---- civil affairs ---- */
    h = P(&pl, HT_PA, MON_NOT, 900000, 3);
    write_household(g, h);
    civil(g, &h->m[0], village_cell(h), "DIBAO_APPLIED", T - 30, -1, 0, ID_15);
    expect_hh(g, "dibao-tekun", h, "MEDIUM", "C1");
    scenario(g, "C1", "dibao-tekun", "低保 application (15-digit number)");
    h = P(&pl, HT_ORD, MON_NOT, 900000, 3);
    h->dibao = TRI_YES; /* the roster agrees: no suspect */
    write_household(g, h);
    {
        /* the record names a village of another county: the roster's wins */
        size_t other = (county_of_village(g, h->village) + 1) % tds_ncounties;
        civil(g, &h->m[1], tds_villages[pick_village(g, pl.r, other)].code, "DIBAO_APPROVED",
              T - 31, -1, 0, ID_18);
    }
    expect_hh(g, "dibao-tekun", h, "MEDIUM", "C2");
    scenario(g, "C2", "dibao-tekun",
             "低保 approved; the record's village is in another county (routed by the roster)");
    h = P(&pl, HT_ORD, MON_MON, 900000, 2);
    h->tekun = TRI_YES;
    write_household(g, h);
    civil(g, &h->m[0], village_cell(h), "TEKUN_APPROVED", T - 32, -1, 0, ID_18);
    expect_hh(g, "dibao-tekun", h, "MEDIUM", "C3");
    scenario(g, "C3", "dibao-tekun", "特困 approved (monitored household)");
    h = P(&pl, HT_PA, MON_NOT, 900000, 3);
    write_household(g, h);
    civil(g, &h->m[0], village_cell(h), "DIBAO_CANCELLED", T - 33, -1, 0, ID_18);
    scenario(g, "C4", "none", "低保 cancelled");
    off_roster(&pl, &op, 40, 0, false);
    v = village_in(&pl, &op);
    civil(g, &op, v, "DIBAO_APPLIED", T - 34, -1, 0, ID_18);
    expect_person(g, "dibao-tekun", &op, v, "MEDIUM", "C5");
    scenario(g, "C5", "dibao-tekun", "低保 application, not on the roster; routed by its village");
    off_roster(&pl, &op, 41, 0, false);
    civil(g, &op, NULL, "DIBAO_APPLIED", T - 35, -1, 0, ID_18);
    expect_person(g, "dibao-tekun", &op, NULL, "MEDIUM", "C6");
    scenario(g, "C6", "dibao-tekun", "低保 application, not on the roster, no village -> unrouted");
    h = P(&pl, HT_PA, MON_NOT, 900000, 3);
    h->dibao = TRI_YES;
    write_household(g, h);
    civil(g, &h->m[0], village_cell(h), "DIBAO_APPLIED", T - 120, -1, 0, ID_18);
    civil(g, &h->m[0], village_cell(h), "DIBAO_APPROVED", T - 90, -1, 0, ID_18);
    expect_hh(g, "dibao-tekun", h, "MEDIUM", "C7");
    scenario(g, "C7", "dibao-tekun", "低保 application then approval while open (one alert)");
    h = P(&pl, HT_ORD, MON_NOT, 900000, 3);
    write_household(g, h);
    civil(g, &h->m[0], village_cell(h), "TEMP", T - 36, 99999, 0, ID_18);
    scenario(g, "C8", "none", "临时救助 999.99 < 1000");
    h = P(&pl, HT_ORD, MON_NOT, 900000, 3);
    h->m[0].birth = born_aged(g, pl.r, 45);
    new_id(g, h->m[0].county, &h->m[0].birth, true, h->m[0].id);
    write_household(g, h);
    civil(g, &h->m[0], village_cell(h), "TEMP", T - 37, YUAN(1000), 0, ID_LOWER_X);
    expect_hh(g, "temp-assistance", h, "MEDIUM", "C9");
    scenario(g, "C9", "temp-assistance", "临时救助 1000.00 (number written with x)");
    for (int grade = 1; grade <= 3; grade++) {
        char sid[8];
        h = P(&pl, HT_PA, MON_NOT, 900000, 3);
        /* the roster already records the grade (and, for 1-2, that she can
         * no longer work): the disability suspects are planted by S4-S10 */
        h->m[1].grade = grade;
        if (grade <= 2)
            h->m[1].labour = L_LOST;
        write_household(g, h);
        civil(g, &h->m[1], village_cell(h), "DISABILITY", T - 38 - grade, -1, grade, ID_18);
        snprintf(sid, sizeof(sid), "C%d", 9 + grade);
        if (grade <= 2)
            expect_hh(g, "severe-disability", h, "MEDIUM", sid);
        scenario(g, sid, grade <= 2 ? "severe-disability" : "none",
                 grade == 1 ? "disability certified, grade 1"
                            : grade == 2 ? "disability certified, grade 2"
                                         : "disability certified, grade 3");
    }
    {
        static const struct {
            const char *id;
            int age, labour;
            bool alerts;
            const char *desc;
        } deaths[] = {
            {"C13", 60, L_NORMAL, true, "death of a member aged 60 (普通劳动力)"},
            {"C14", 61, L_NORMAL, false, "death of a member aged 61"},
            {"C15", 16, L_WEAK, true, "death of a member aged 16 (弱劳动力)"},
            {"C16", 40, L_LOST, false, "death of a member aged 40 who could not work (丧失劳动力)"},
            {"C17", 70, L_WEAK, false, "death of a member aged 70"},
        };
        /* registered 12-16 days ago: within the 30 days death-still-listed
         * gives the roster to catch up, so not suspects (S1 plants one) */
        for (size_t i = 0; i < sizeof(deaths) / sizeof(deaths[0]); i++) {
            int32_t day = T - 12 - (int32_t)i;
            h = P(&pl, HT_PA, MON_NOT, 900000, 4);
            person *p = aged_member(&pl, h, 3, deaths[i].age, day, deaths[i].labour);
            write_household(g, h);
            civil(g, p, village_cell(h), "DEATH", day, -1, 0, ID_18);
            if (deaths[i].alerts)
                expect_hh(g, "working-age-death", h, "MEDIUM", deaths[i].id);
            scenario(g, deaths[i].id, deaths[i].alerts ? "working-age-death" : "none",
                     deaths[i].desc);
        }
    }
    off_roster(&pl, &op, 39, 0, false);
    v = village_in(&pl, &op);
    civil(g, &op, v, "TEMP", T - 46, YUAN(1500), 0, ID_18);
    expect_person(g, "temp-assistance", &op, v, "MEDIUM", "C18");
    scenario(g, "C18", "temp-assistance", "临时救助 1500.00, not on the roster");

    /* ---- human resources ---- */
    {
        static const struct {
            const char *id, *ev;
            int age;
            bool alerts;
            const char *desc;
        } evs[] = {
            {"H1", "失业登记", 45, true, "unemployment registered, aged 45 (15-digit number)"},
            {"H2", "公益性岗位离岗", 60, true, "public-welfare job ended, aged 60"},
            {"H3", "职工保险断缴", 16, true, "employee insurance lapsed, aged 16"},
            {"H4", "失业登记", 61, false, "unemployment registered, aged 61"},
            {"H5", "公益性岗位离岗", 65, false, "public-welfare job ended, aged 65"},
            {"H6", "失业登记注销", 40, false, "unemployment ended, aged 40"},
            {"H9", "职工保险断缴", 15, false, "employee insurance lapsed, aged 15"},
            {"H10", "公益性岗位上岗", 40, false, "public-welfare job started, aged 40"},
        };
        for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++) {
            int32_t day = T - 20 - (int32_t)i;
            h = P(&pl, HT_ORD, MON_NOT, 900000, 4);
            person *p = aged_member(&pl, h, 2, evs[i].age, day, L_NORMAL);
            /* the roster agrees with human resources on the job */
            if (strcmp(evs[i].ev, "公益性岗位上岗") == 0)
                p->job = TRI_YES;
            write_household(g, h);
            hr(g, p, village_cell(h), evs[i].ev, day, -1, i == 0 ? ID_15 : ID_18);
            if (evs[i].alerts)
                expect_hh(g, "employment-loss", h, "LOW", evs[i].id);
            scenario(g, evs[i].id, evs[i].alerts ? "employment-loss" : "none", evs[i].desc);
        }
    }
    off_roster(&pl, &op, 40, T - 15, false);
    v = village_in(&pl, &op);
    hr(g, &op, v, "失业登记", T - 15, -1, ID_18);
    expect_person(g, "employment-loss", &op, v, "LOW", "H7");
    scenario(g, "H7", "employment-loss", "unemployment registered, not on the roster, aged 40");
    off_roster(&pl, &op, 65, T - 14, false);
    v = village_in(&pl, &op);
    hr(g, &op, v, "失业登记", T - 14, -1, ID_18);
    scenario(g, "H8", "none", "unemployment registered, not on the roster, aged 65");

    /* ---- two departments within 90 days ---- */
    {
        static const struct {
            const char *id;
            int civil_ago, med_ago;
            bool raised;
            const char *desc;
        } xs[] = {
            {"X1", 60, 30, true, "低保 application and 5000.00 medical 30 days apart"},
            {"X2", 150, 61, true, "低保 application and 5000.00 medical 89 days apart"},
            {"X3", 150, 60, false, "低保 application and 5000.00 medical 90 days apart"},
        };
        for (size_t i = 0; i < sizeof(xs) / sizeof(xs[0]); i++) {
            h = P(&pl, HT_PA, MON_NOT, 900000, 3);
            write_household(g, h);
            civil(g, &h->m[0], village_cell(h), "DIBAO_APPLIED", T - xs[i].civil_ago, -1, 0,
                  ID_18);
            med(g, O_MED1, &h->m[1], village_cell(h), T - xs[i].med_ago, YUAN(5000), ID_18);
            /* within 90 days both alerts end HIGH, in any order (the
             * earlier one escalated under its id) */
            expect_hh(g, "dibao-tekun", h, xs[i].raised ? "HIGH" : "MEDIUM", xs[i].id);
            expect_hh(g, "medical-oop-365d", h, xs[i].raised ? "HIGH" : "MEDIUM", xs[i].id);
            scenario(g, xs[i].id,
                     xs[i].raised ? "dibao-tekun+medical-oop-365d (both HIGH)"
                                  : "dibao-tekun+medical-oop-365d (no raise)",
                     xs[i].desc);
        }
    }

    /* ---- bad rows ---- */
    h = P(&pl, HT_ORD, MON_NOT, 900000, 3);
    h->bad_member = 2;
    write_household(g, h);
    scenario(g, "R1", "rejected", "roster household with one bad member row (all rows rejected)");
    h = P(&pl, HT_ORD, MON_NOT, 900000, 3);
    h->size_cell = 4;
    write_household(g, h);
    scenario(g, "R2", "rejected",
             "roster household whose 家庭人口数 says 4 for 3 member rows (all rows rejected)");
    {
        out *oc = &g->o[O_CIVIL], *m1 = &g->o[O_MED1], *m2 = &g->o[O_MED2], *oh = &g->o[O_HR];
        char line[1024], id[32];
        long ln;
        h = P(&pl, HT_ORD, MON_NOT, 900000, 5);
        write_household(g, h);
        const char *vc = village_cell(h);
        person *p = &h->m[4];

        ln = civil(g, &h->m[0], vc, "DIBAO_APPLIED", T - 10, -1, 0, ID_BAD_CHECK);
        expect_reject(g, oc, ln, "idnum", "B1");
        scenario(g, "B1", "rejected", "civil: identity number with a wrong check character");
        id_text(p, ID_18, id, sizeof(id));
        {
            int y, m, d;
            td_date_to_ymd(T, &y, &m, &d);
            snprintf(line, sizeof(line), "MZ%08ld,0101,%s,%s,%s,%d-02-30,,", ++g->rec_civil, id,
                     p->name, vc, y - 1);
        }
        g->st.records++;
        ln = out_line(g, oc, line);
        expect_reject(g, oc, ln, "date", "B2");
        scenario(g, "B2", "rejected", "civil: date 02-30");
        ln = civil(g, p, vc, "0999", T - 10, -1, 0, ID_18);
        expect_reject(g, oc, ln, "code", "B3");
        scenario(g, "B3", "rejected", "civil: unknown business type 0999");
        ln = civil(g, p, vc, "TEMP", T - 10, -1, 0, ID_18);
        expect_reject(g, oc, ln, "required", "B4");
        scenario(g, "B4", "rejected", "civil: 临时救助 without an amount");
        ln = civil(g, p, vc, "DISABILITY", T - 10, -1, 0, ID_18);
        expect_reject(g, oc, ln, "required", "B5");
        scenario(g, "B5", "rejected", "civil: disability certified without a grade");
        ++g->rec_civil;
        {
            int y, m, d;
            td_date_to_ymd(T - 10, &y, &m, &d);
            snprintf(line, sizeof(line), "MZ%08ld,0401,%s,%s,%s,%04d-%02d-%02d,1000.005,",
                     g->rec_civil, id, p->name, vc, y, m, d);
        }
        g->st.records++;
        ln = out_line(g, oc, line);
        expect_reject(g, oc, ln, "amount", "B6");
        scenario(g, "B6", "rejected", "civil: amount 1000.005 (three decimals)");
        snprintf(line, sizeof(line), "MZ%08ld,0101,%s,%s,%s", ++g->rec_civil, id, p->name, vc);
        g->st.records++;
        ln = out_line(g, oc, line);
        expect_reject(g, oc, ln, "fields", "B7");
        scenario(g, "B7", "rejected", "civil: a row with 5 fields, the header has 8");
        {
            char county_only[16];
            snprintf(county_only, sizeof(county_only), "%.6s000000", vc);
            ln = civil(g, p, county_only, "DIBAO_APPLIED", T - 10, -1, 0, ID_18);
        }
        expect_reject(g, oc, ln, "village", "B8");
        scenario(g, "B8", "rejected", "civil: village code ending in 000 (a county code)");

        /* medical-01 (UTF-8 with BOM) */
        {
            char date[40];
            fmt_date(T - 9, "time", date, sizeof(date));
            snprintf(line, sizeof(line), "YB%08ld,%s,%s,%s,%s,21,100.00,80.00,30.00,否",
                     ++g->rec_med, id, p->name, vc, date);
            g->st.records++;
            ln = out_line(g, m1, line);
            expect_reject(g, m1, ln, "amount", "B9");
            scenario(g, "B9", "rejected", "medical: fund 80.00 + own 30.00 > total 100.00");
            /* a byte that is not UTF-8 inside the name */
            snprintf(line, sizeof(line), "YB%08ld,%s,\xff\xfe%s,%s,%s,21,100.00,80.00,20.00,否",
                     ++g->rec_med, id, p->name, vc, date);
            g->st.records++;
            ln = out_line(g, m1, line);
            expect_reject(g, m1, ln, "encoding", "B10");
            scenario(g, "B10", "rejected", "medical: bytes that are not UTF-8");
            snprintf(line, sizeof(line), "YB%08ld,%s,%s,%s,%s,99,100.00,80.00,20.00,否",
                     ++g->rec_med, id, p->name, vc, date);
            g->st.records++;
            ln = out_line(g, m1, line);
            expect_reject(g, m1, ln, "code", "B11");
            scenario(g, "B11", "rejected", "medical: unknown 医疗类别 99");
            snprintf(line, sizeof(line), "YB%08ld,%s,%s,%s,%s,21,100.00,80.00,-5.00,否",
                     ++g->rec_med, id, p->name, vc, date);
            g->st.records++;
            ln = out_line(g, m1, line);
            expect_reject(g, m1, ln, "amount", "B12");
            scenario(g, "B12", "rejected", "medical: negative 个人负担");
            /* medical-02 (GB18030 with BOM) */
            int y, m, d;
            td_date_to_ymd(T, &y, &m, &d);
            snprintf(line, sizeof(line), "YB%08ld,%s,%s,%s,%d1340,21,100.00,80.00,20.00,否",
                     ++g->rec_med, id, p->name, vc, y - 1);
            g->st.records++;
            ln = out_line(g, m2, line);
            expect_reject(g, m2, ln, "date", "B13");
            scenario(g, "B13", "rejected", "medical (GB18030): date with month 13");
            ln = med(g, O_MED2, p, vc, T - 9, YUAN(10), ID_SHORT);
            expect_reject(g, m2, ln, "idnum", "B14");
            scenario(g, "B14", "rejected", "medical (GB18030): a 17-character identity number");
        }
        /* human resources (GB18030 with BOM) */
        ln = hr(g, p, vc, "公益性岗位上岗", T - 8, -1, ID_BAD_CHECK);
        expect_reject(g, oh, ln, "idnum", "B15");
        scenario(g, "B15", "rejected", "hr: identity number with a wrong check character");
        ln = hr(g, p, vc, "外出务工情况", T - 8, -1, ID_18);
        expect_reject(g, oh, ln, "required", "B16");
        scenario(g, "B16", "rejected", "hr: 外出务工情况 without 本年外出务工月数");
        ln = hr(g, p, vc, "外出务工情况", T - 8, 13, ID_18);
        expect_reject(g, oh, ln, "number", "B17");
        scenario(g, "B17", "rejected", "hr: 13 months worked away");
        ln = hr(g, p, vc, "退休", T - 8, -1, ID_18);
        expect_reject(g, oh, ln, "code", "B18");
        scenario(g, "B18", "rejected", "hr: unknown 业务类别 退休");
    }

    /* ---- the suspicious-data list (疑点数据清单) ---- */
    plant_suspects(&pl);
    /* what is left of the planted budget: counted as planted households */
}

/* ------------------------------------------------------------ background */

static void background(gen *g, int64_t index)
{
    rng r = {g->opt->seed * UINT64_C(0x2545f4914f6cdd1d) ^ (uint64_t)index * UINT64_C(0x9e37)};
    household h;
    int type = rng_pct(&r, 30) ? HT_PA : HT_ORD;
    int mon = rng_pct(&r, 6) ? MON_MON : (rng_pct(&r, 3) ? MON_ELIM : MON_NOT);
    int64_t pc = mon == MON_MON ? rng_range(&r, 600000, 1200000)
                                : rng_range(&r, 790000, 3500000);
    int n = (int)rng_range(&r, 1, 6);
    int32_t T = g->today;

    rng_next(&r);
    hh_init(g, &r, &h, pick_village(g, &r, (size_t)-1), type, mon, pc);
    hh_family(g, &r, &h, n, (int)rng_range(&r, 28, 78));
    for (int i = 0; i < h.n; i++)
        if (rng_pct(&r, 4))
            h.m[i].grade = (int)rng_range(&r, 3, 4);
    /* the roster's own columns: as the departments and the numbers say, or
     * empty; a 是 without any department record is no suspect */
    h.dibao = rng_pct(&r, 8) ? TRI_YES : (rng_pct(&r, 5) ? TRI_EMPTY : TRI_NO);
    h.tekun = rng_pct(&r, 2) ? TRI_YES : (rng_pct(&r, 5) ? TRI_EMPTY : TRI_NO);
    for (int i = 0; i < h.n; i++) {
        person *p = &h.m[i];
        p->rec_sex = rng_pct(&r, 5) ? REC_EMPTY : REC_AGREES;
        p->rec_birth = rng_pct(&r, 10) ? REC_EMPTY : REC_AGREES;
        p->birth_style = (int)rng_range(&r, 0, 2);
        p->job = rng_pct(&r, 3) ? TRI_YES : (rng_pct(&r, 5) ? TRI_EMPTY : TRI_NO);
    }

    /* department records, decided before the roster is written so that the
     * roster agrees with them (background households are never suspects) */
    const char *vc = rng_pct(&r, 90) ? village_cell(&h) : "";
    int file = index % 2 ? O_MED2 : O_MED1;
    const char *civil_ev = NULL, *hr_ev = NULL;
    person civil_p, hr_p;
    int32_t civil_day = 0, hr_day = 0;
    int64_t civil_amount = -1;
    int civil_grade = 0, hr_months = -1;

    if (rng_pct(&r, 8)) {
        int i = (int)rng_range(&r, 0, h.n - 1);
        person *p = &h.m[i];
        civil_day = T - (int32_t)rng_range(&r, 3, 330);
        switch (rng_range(&r, 0, 3)) {
        case 0:
            civil_ev = "DIBAO_CANCELLED";
            break;
        case 1:
            civil_ev = "TEMP";
            civil_amount = rng_range(&r, 10000, 90000);
            break;
        case 2:
            civil_ev = "DISABILITY";
            civil_grade = (int)rng_range(&r, 3, 4);
            p->grade = civil_grade; /* the roster records the certified grade */
            break;
        default:
            /* a death at 65 or older of someone the roster no longer lists
             * (the village removed the member); the head, or a younger
             * member, has a 低保 cancellation instead */
            civil_ev = i > 0 && td_date_age(p->birth, civil_day) >= 65 ? "DEATH"
                                                                        : "DIBAO_CANCELLED";
        }
        if (strcmp(civil_ev, "DIBAO_CANCELLED") == 0 && h.dibao == TRI_YES)
            h.dibao = TRI_NO;
        civil_p = *p;
        if (strcmp(civil_ev, "DEATH") == 0) {
            memmove(&h.m[i], &h.m[i + 1], (size_t)(h.n - i - 1) * sizeof(h.m[0]));
            h.n--;
        }
    }
    if (rng_pct(&r, 12)) {
        person *p = &h.m[rng_range(&r, 0, h.n - 1)];
        hr_day = T - (int32_t)rng_range(&r, 3, 330);
        switch (rng_range(&r, 0, 2)) {
        case 0:
            hr_ev = "失业登记注销";
            break;
        case 1:
            hr_ev = "公益性岗位上岗";
            p->job = TRI_YES;
            break;
        default:
            hr_ev = rng_pct(&r, 50) ? "外出务工情况" : "务工监测";
            hr_months = (int)rng_range(&r, 0, 12);
        }
        hr_p = *p;
    }
    write_household(g, &h);

    if (rng_pct(&r, 25)) {
        /* at most 1400.00 a year: under every threshold (5000; 50% of an
         * annual income of at least 6000) */
        int k = (int)rng_range(&r, 1, 2);
        int32_t day = T - (int32_t)rng_range(&r, 200, 330);
        const person *p = &h.m[rng_range(&r, 0, h.n - 1)];
        for (int i = 0; i < k; i++) {
            med(g, file, p, vc, day, rng_range(&r, 5000, 70000), ID_18);
            day += (int32_t)rng_range(&r, 10, 90);
        }
    }
    if (civil_ev)
        civil(g, &civil_p, vc, civil_ev, civil_day, civil_amount, civil_grade, ID_18);
    if (hr_ev)
        hr(g, &hr_p, vc, hr_ev, hr_day, hr_months, ID_18);
    if (index % 40 == 0) {
        /* someone not on the roster with a small bill */
        person p;
        memset(&p, 0, sizeof(p));
        p.county = (size_t)rng_range(&r, 0, (int64_t)tds_ncounties - 1);
        p.birth = born_aged(g, &r, (int)rng_range(&r, 20, 80));
        new_id(g, p.county, &p.birth, false, p.id);
        make_name(&r, NULL, p.name, sizeof(p.name));
        med(g, file, &p, tds_villages[pick_village(g, &r, p.county)].code,
            T - (int32_t)rng_range(&r, 3, 330), rng_range(&r, 1000, 90000), ID_18);
    }
}

/* ------------------------------------------------------------ main entry */

#define ROSTER_HEADER                                                                      \
    "户编号,村级区划代码,网格编号,户类型,监测状态,监测对象类别,识别时间,风险消除时间,"    \
    "风险消除方式,家庭人口数,收入年度,家庭年纯收入,家庭年人均纯收入,风险类型,更新时间,"  \
    "证件号码,姓名,与户主关系,劳动技能,残疾等级,在校生状况,享受低保,特困供养,性别,出生日期,"   \
    "公益性岗位"
#define CIVIL_HEADER                                                                       \
    "case_id,business_type,id_number,person_name,village_code,business_date,amount_yuan,"  \
    "disability_grade"
#define MED_HEADER                                                                         \
    "结算单号,身份证号,姓名,村级区划代码,结算日期,医疗类别,医疗总费用,基金支付,个人负担," \
    "是否大病"
#define HR_HEADER "业务编号,业务类别,身份证号,姓名,村级区划代码,业务日期,本年外出务工月数"

int tds_generate(const tds_options *opt, tds_stats *ret, td_error *err)
{
    gen g;
    int64_t planted_hh;

    memset(&g, 0, sizeof(g));
    g.opt = opt;
    g.err = err;
    for (int i = 0; i < O_COUNT; i++)
        g.o[i].cd = (iconv_t)-1;
    if (!opt || !opt->out_dir || !*opt->out_dir)
        return td_error_set(err, -EINVAL, "no output directory");
    if (opt->households < TDS_MIN_HOUSEHOLDS || opt->households > 10000000)
        return td_error_set(err, -EINVAL, "households: %lld is out of range (%d..10000000)",
                            (long long)opt->households, TDS_MIN_HOUSEHOLDS);
    td_date_from_ymd(1900, 1, 1, &g.seq_base);
    if (opt->today < g.seq_base + 366 * 100 || opt->today > g.seq_base + 366 * 200)
        return td_error_set(err, -EINVAL, "today: out of range (2000-01-01..2099-12-31)");
    g.today = opt->today;
    g.r.s = opt->seed ^ UINT64_C(0x7475646973616d70);
    g.seq_days = g.today - g.seq_base + 1;
    g.seq = calloc(tds_ncounties * (size_t)g.seq_days, sizeof(*g.seq));
    g.village_county = calloc(tds_nvillages, sizeof(*g.village_county));
    g.village_serial = calloc(tds_nvillages, sizeof(*g.village_serial));
    if (!g.seq || !g.village_county || !g.village_serial) {
        fail(&g, -ENOMEM, "out of memory");
        goto done;
    }
    for (size_t v = 0; v < tds_nvillages; v++) {
        size_t c = 0;
        while (c < tds_ncounties && strcmp(tds_counties[c].county, tds_villages[v].county) != 0)
            c++;
        if (c == tds_ncounties) {
            fail(&g, -EINVAL, "village %s has no county", tds_villages[v].code);
            goto done;
        }
        g.village_county[v] = c;
    }

    mkdir_p(&g, opt->out_dir);
    {
        char d[4200];
        snprintf(d, sizeof(d), "%s/expected", opt->out_dir);
        mkdir_p(&g, d);
    }
    out_open(&g, &g.o[O_ROSTER], "roster", "huainan-roster.csv", "roster", true, false,
             ROSTER_HEADER);
    out_open(&g, &g.o[O_CIVIL], "civil_affairs", "civil-01.csv", "civil_affairs", false, false,
             CIVIL_HEADER);
    out_open(&g, &g.o[O_MED1], "medical_insurance", "medical-01.csv", "medical_insurance", false,
             true, MED_HEADER);
    out_open(&g, &g.o[O_MED2], "medical_insurance", "medical-02.csv", "medical_insurance", true,
             true, MED_HEADER);
    out_open(&g, &g.o[O_HR], "human_resources", "hr-01.csv", "human_resources", true, true,
             HR_HEADER);
    out_open(&g, &g.o[O_FIX], "roster-fix", "huainan-roster-2.csv", "roster", true, false,
             ROSTER_HEADER);
    g.alerts = open_plain(&g, "alerts.csv", "rule_id,subject_kind,subject,queue,severity,scenario");
    g.rejected = open_plain(&g, "rejected.csv", "dataset,file,line,reason_class,scenario");
    g.scen = open_plain(&g, "scenarios.csv", "scenario,expect,description");
    g.suspects = open_plain(&g, "suspects.csv",
                            "indicator_id,household_id,subject,queue,scenario,after_fix");
    if (g.rc < 0)
        goto done;

    plant(&g);
    planted_hh = g.st.households;
    if (planted_hh > TDS_MIN_HOUSEHOLDS) {
        fail(&g, -EINVAL, "internal: %lld planted households > %d", (long long)planted_hh,
             TDS_MIN_HOUSEHOLDS);
        goto done;
    }
    for (int64_t i = planted_hh; i < opt->households && g.rc == 0; i++)
        background(&g, i);

done:
    for (int i = 0; i < O_COUNT; i++)
        out_close(&g, &g.o[i]);
    if (g.alerts && fclose(g.alerts) != 0)
        fail(&g, -EIO, "cannot write expected/alerts.csv");
    if (g.rejected && fclose(g.rejected) != 0)
        fail(&g, -EIO, "cannot write expected/rejected.csv");
    if (g.scen && fclose(g.scen) != 0)
        fail(&g, -EIO, "cannot write expected/scenarios.csv");
    if (g.suspects && fclose(g.suspects) != 0)
        fail(&g, -EIO, "cannot write expected/suspects.csv");
    free(g.seq);
    free(g.village_county);
    free(g.village_serial);
    if (g.rc == 0 && ret)
        *ret = g.st;
    return g.rc;
}
