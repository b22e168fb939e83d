/* Dataset roster -> Household: one row per member grouped into one record
 * per household. Exact records (members with the head first, birth dates,
 * monitoring, income, risks, source), grouping of contiguous households, the
 * flush at the end of a unit, the safe position while rows are buffered,
 * rejection of non-contiguous households and of whole households for one bad
 * member row, and the count invariant. */
#include "tdc_dataset_test.h"

#include "td_idnum.h"

#include <sys/stat.h>

static const char *const HDR =
    "户编号|村级区划代码|网格编号|户类型|监测状态|监测对象类别|识别时间|风险消除时间|风险消除方式|"
    "家庭人口数|收入年度|家庭年纯收入|家庭年人均纯收入|风险类型|更新时间|身份证号|姓名|与户主关系|"
    "劳动技能|残疾等级|在校生状况";
/* HDR with the optional columns of Household v2 (the suspicious-data list). */
static const char *const HDR_V2 =
    "户编号|村级区划代码|网格编号|户类型|监测状态|监测对象类别|识别时间|风险消除时间|风险消除方式|"
    "家庭人口数|收入年度|家庭年纯收入|家庭年人均纯收入|风险类型|更新时间|身份证号|姓名|与户主关系|"
    "劳动技能|残疾等级|在校生状况|享受低保|特困供养|性别|出生日期|公益性岗位";
static const char *const UNIT = "roster-2024.csv";

/* Households as rows: H <id>, household cells, member cells. */
#define HH_A "3404021002010001|340402100201|G-17|脱贫户|已纳入监测|边缘易致贫户|2023-04-02|||3|2023|23700|7900|因病、03|2024-05-31 18:00:00"
#define HH_A_REST "3404021002010001||||||||||||||"
/* A household of one. */
#define HH_ONE "3404021002010002|340402100201|G-17|脱贫户|已纳入监测|边缘易致贫户|2023-04-02|||1|2023|7900|7900|因病|2024-05-31 18:00:00"

static t_schemas sc;

static int suite_init(void)
{
    return t_schemas_load(&sc, TDC_DATASET_ROSTER);
}

static int suite_clean(void)
{
    t_schemas_done(&sc);
    return 0;
}

typedef struct run_ctx {
    tdc_dataset *ds;
    t_header h;
    t_sink s;
    int64_t next;
    int64_t rows_in;
} run_ctx;

static void ctx_init(run_ctx *c, const struct tdc_mapping_config *cfg, const char *hdr)
{
    memset(c, 0, sizeof(*c));
    c->ds = t_dataset(TDC_DATASET_ROSTER, &sc, cfg);
    t_header_init(&c->h, hdr ? hdr : HDR);
    t_sink_init(&c->s, sc.schema);
    c->next = 2;
}

static void ctx_done(run_ctx *c)
{
    tdc_dataset_free(c->ds);
    t_header_done(&c->h);
    t_sink_done(&c->s);
}

static void feed(run_ctx *c, const char *line)
{
    CU_ASSERT_EQUAL(t_map_line(c->ds, &c->s, &c->h, UNIT, c->next++, line), 0);
    c->rows_in++;
}

static void finish(run_ctx *c)
{
    CU_ASSERT_EQUAL(t_end_unit(c->ds, &c->s), 0);
    CU_ASSERT_PTR_NULL(tdc_dataset_safe_position(c->ds));
    /* the count invariant */
    CU_ASSERT_EQUAL(c->rows_in, c->s.rows_in_records + (int64_t)c->s.nrejs);
}

static avro_value_t t_member(avro_value_t *v, size_t i)
{
    avro_value_t arr, el;
    size_t n = 0;

    arr = t_val(v, "members");
    avro_value_get_size(&arr, &n);
    CU_ASSERT_FATAL(i < n);
    el = arr;
    CU_ASSERT_EQUAL(avro_value_get_by_index(&arr, i, &el, NULL), 0);
    return el;
}

static size_t t_size(avro_value_t *v, const char *path)
{
    avro_value_t a = t_val(v, path);
    size_t n = 0;

    avro_value_get_size(&a, &n);
    return n;
}

static void test_good_household(void)
{
    run_ctx c;
    avro_value_t *v, m, risks, item;
    const char *s = NULL;
    size_t n;

    ctx_init(&c, NULL, NULL);
    feed(&c, HH_A "|340402196811200031|王芳|配偶|普通劳动力||非在校生");
    CU_ASSERT_PTR_NOT_NULL_FATAL(tdc_dataset_safe_position(c.ds));
    CU_ASSERT_EQUAL(tdc_dataset_safe_position(c.ds)->next_row, 2);
    feed(&c, HH_A_REST "|340402196503120021|王建国|户主|弱劳动力或半劳动力|二级|");
    feed(&c, HH_A_REST "|340402201005050044|王小明|之子|无劳动力||小学");
    CU_ASSERT_EQUAL(c.s.nrecs, 0); /* buffered until the household ends */
    CU_ASSERT_EQUAL(tdc_dataset_safe_position(c.ds)->next_row, 2);
    finish(&c);
    CU_ASSERT_EQUAL_FATAL(c.s.nrecs, 1);
    CU_ASSERT_EQUAL(c.s.nrejs, 0);
    CU_ASSERT_STRING_EQUAL(c.s.recs[0].key, "3404021002010001");
    CU_ASSERT_EQUAL(c.s.recs[0].first_row, 2);
    CU_ASSERT_EQUAL(c.s.recs[0].last_row, 4);
    v = t_decode(&sc, &c.s, 0);
    CU_ASSERT_STRING_EQUAL(t_str(v, "household_id"), "3404021002010001");
    CU_ASSERT_STRING_EQUAL(t_str(v, "village_code"), "340402100201");
    CU_ASSERT_STRING_EQUAL(t_str(v, "grid_id"), "G-17");
    CU_ASSERT_STRING_EQUAL(t_enum(v, "household_type"), "POVERTY_ALLEVIATED");
    CU_ASSERT_STRING_EQUAL(t_enum(v, "monitoring.state"), "MONITORED");
    CU_ASSERT_STRING_EQUAL(t_enum(v, "monitoring.category"), "MARGINAL");
    CU_ASSERT_EQUAL(t_long(v, "monitoring.identified_date"), t_days("2023-04-02"));
    CU_ASSERT_TRUE(t_is_null(v, "monitoring.risk_eliminated_date"));
    CU_ASSERT_TRUE(t_is_null(v, "monitoring.risk_elimination_method"));
    CU_ASSERT_EQUAL(t_long(v, "household_size"), 3);
    CU_ASSERT_EQUAL(t_long(v, "income.year"), 2023);
    CU_ASSERT_EQUAL(t_long(v, "income.annual_net_fen"), 2370000);
    CU_ASSERT_EQUAL(t_long(v, "income.per_capita_net_fen"), 790000);
    CU_ASSERT_EQUAL_FATAL(t_size(v, "risks"), 2);
    risks = t_val(v, "risks");
    avro_value_get_by_index(&risks, 0, &item, NULL);
    avro_value_get_string(&item, &s, &n);
    CU_ASSERT_STRING_EQUAL(s, "01");
    avro_value_get_by_index(&risks, 1, &item, NULL);
    avro_value_get_string(&item, &s, &n);
    CU_ASSERT_STRING_EQUAL(s, "03");
    /* 2024-05-31 18:00:00 in China = 10:00:00Z */
    CU_ASSERT_EQUAL(t_long(v, "updated_at"), (t_days("2024-05-31") * 86400 + 10 * 3600) * 1000);
    CU_ASSERT_STRING_EQUAL(t_enum(v, "source.department"), "RURAL_REVITALIZATION");
    CU_ASSERT_STRING_EQUAL(t_str(v, "source.record_id"), "3404021002010001");
    CU_ASSERT_STRING_EQUAL(t_str(v, "source.connector_instance"), "test-instance");
    CU_ASSERT_STRING_EQUAL(t_str(v, "source.location"), UNIT);
    CU_ASSERT_EQUAL(t_long(v, "source.row"), 2);
    /* members: the head first, then the others in file order */
    CU_ASSERT_EQUAL_FATAL(t_size(v, "members"), 3);
    m = t_member(v, 0);
    CU_ASSERT_STRING_EQUAL(t_str(&m, "person_key"), "340402196503120021");
    CU_ASSERT_STRING_EQUAL(t_str(&m, "name"), "王建国");
    CU_ASSERT_STRING_EQUAL(t_enum(&m, "relation"), "HEAD");
    CU_ASSERT_EQUAL(t_long(&m, "birth_date"), t_days("1965-03-12"));
    CU_ASSERT_STRING_EQUAL(t_enum(&m, "labour_capacity"), "WEAK");
    CU_ASSERT_EQUAL(t_long(&m, "disability_grade"), 2);
    CU_ASSERT_TRUE(t_is_null(&m, "in_school"));
    m = t_member(v, 1);
    CU_ASSERT_STRING_EQUAL(t_str(&m, "name"), "王芳");
    CU_ASSERT_STRING_EQUAL(t_enum(&m, "relation"), "SPOUSE");
    CU_ASSERT_EQUAL(t_long(&m, "birth_date"), t_days("1968-11-20"));
    CU_ASSERT_TRUE(t_is_null(&m, "disability_grade"));
    CU_ASSERT_EQUAL(t_bool(&m, "in_school"), 0);
    m = t_member(v, 2);
    CU_ASSERT_STRING_EQUAL(t_str(&m, "name"), "王小明");
    CU_ASSERT_STRING_EQUAL(t_enum(&m, "relation"), "CHILD");
    CU_ASSERT_STRING_EQUAL(t_enum(&m, "labour_capacity"), "NONE");
    CU_ASSERT_EQUAL(t_bool(&m, "in_school"), 1);
    ctx_done(&c);
}

/* A row from "列=值;列=值" over defaults (a village, a grid, 一般农户,
 * 普通劳动力); "列=" empties a default. Fed in header order. */
static void feeds(run_ctx *c, const char *spec)
{
    static const char *const defaults = "村级区划代码=340402100201;网格编号=G;户类型=一般农户;"
                                        "劳动技能=普通劳动力";
    char vals[T_MAX_COLS][256], line[4096], buf[2048];
    size_t o = 0;

    memset(vals, 0, sizeof(vals));
    for (int pass = 0; pass < 2; pass++) {
        char *save = NULL, *kv;

        snprintf(buf, sizeof(buf), "%s", pass == 0 ? defaults : spec);
        for (kv = strtok_r(buf, ";", &save); kv; kv = strtok_r(NULL, ";", &save)) {
            char *eq = strchr(kv, '=');
            size_t j;

            CU_ASSERT_PTR_NOT_NULL_FATAL(eq);
            *eq = '\0';
            for (j = 0; j < c->h.n; j++)
                if (strcmp(c->h.names[j], kv) == 0)
                    break;
            if (j == c->h.n) {
                fprintf(stderr, "\n    no column %s\n", kv);
                CU_FAIL_FATAL("column");
            }
            snprintf(vals[j], sizeof(vals[j]), "%s", eq + 1);
        }
    }
    for (size_t j = 0; j < c->h.n; j++)
        o += (size_t)snprintf(line + o, sizeof(line) - o, "%s%s", j ? "|" : "", vals[j]);
    feed(c, line);
}

/* Households follow each other: each is emitted when the next begins; the
 * safe position is before the first buffered row, NULL after the flush. */
static void test_contiguous_households(void)
{
    run_ctx c;
    avro_value_t *v;
    const tdc_position *p;

    ctx_init(&c, NULL, NULL);
    CU_ASSERT_PTR_NULL(tdc_dataset_safe_position(c.ds));
    feeds(&c, "户编号=H1;身份证号=340402196503120021;姓名=甲;与户主关系=户主");
    feeds(&c, "户编号=H1;身份证号=340402196811200031;姓名=乙;与户主关系=配偶");
    CU_ASSERT_EQUAL(c.s.nrecs, 0);
    feeds(&c, "户编号=H2;村级区划代码=340402100202;监测状态=未纳入监测;家庭人口数=1;"
              "身份证号=340421197506060072;姓名=丙;与户主关系=户主;劳动技能=技能劳动力");
    CU_ASSERT_EQUAL_FATAL(c.s.nrecs, 1); /* H1 complete */
    CU_ASSERT_STRING_EQUAL(c.s.recs[0].key, "H1");
    p = tdc_dataset_safe_position(c.ds);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(p->next_row, 4); /* before H2's first row */
    CU_ASSERT_EQUAL(p->next_byte_offset, 300);
    finish(&c);
    CU_ASSERT_EQUAL_FATAL(c.s.nrecs, 2);
    CU_ASSERT_STRING_EQUAL(c.s.recs[1].key, "H2");
    CU_ASSERT_EQUAL(c.s.recs[1].first_row, 4);
    CU_ASSERT_EQUAL(c.s.recs[1].last_row, 4);
    v = t_decode(&sc, &c.s, 0);
    CU_ASSERT_EQUAL(t_long(v, "household_size"), 2);
    CU_ASSERT_STRING_EQUAL(t_enum(v, "household_type"), "ORDINARY");
    CU_ASSERT_STRING_EQUAL(t_enum(v, "monitoring.state"), "NOT_MONITORED"); /* empty cell */
    CU_ASSERT_TRUE(t_is_null(v, "monitoring.category"));
    CU_ASSERT_TRUE(t_is_null(v, "monitoring.identified_date"));
    CU_ASSERT_TRUE(t_is_null(v, "income"));
    CU_ASSERT_EQUAL(t_size(v, "risks"), 0);
    /* no 更新时间: the file's mtime */
    CU_ASSERT_EQUAL(t_long(v, "updated_at"), T_MTIME_NS / 1000000);
    v = t_decode(&sc, &c.s, 1);
    CU_ASSERT_STRING_EQUAL(t_str(v, "village_code"), "340402100202");
    CU_ASSERT_EQUAL(t_long(v, "source.row"), 4);
    ctx_done(&c);
}

/* A household id that comes back after its rows ended: those rows are
 * rejected with a reason telling ops to sort the export. */
static void test_non_contiguous(void)
{
    run_ctx c;

    ctx_init(&c, NULL, NULL);
    feeds(&c, "户编号=H1;身份证号=340402196503120021;姓名=甲;与户主关系=户主");
    feeds(&c, "户编号=H2;身份证号=340421197506060072;姓名=丙;与户主关系=户主");
    feeds(&c, "户编号=H1;身份证号=340402196811200031;姓名=乙;与户主关系=配偶");
    feeds(&c, "户编号=H1;身份证号=340402201005050044;姓名=丁;与户主关系=之子");
    feeds(&c, "户编号=H3;身份证号=340421197707070082;姓名=戊;与户主关系=户主");
    finish(&c);
    CU_ASSERT_EQUAL_FATAL(c.s.nrecs, 3);
    CU_ASSERT_STRING_EQUAL(c.s.recs[0].key, "H1");
    CU_ASSERT_STRING_EQUAL(c.s.recs[1].key, "H2");
    CU_ASSERT_STRING_EQUAL(c.s.recs[2].key, "H3");
    CU_ASSERT_EQUAL_FATAL(c.s.nrejs, 2);
    for (size_t i = 0; i < 2; i++) {
        CU_ASSERT_EQUAL(c.s.rejs[i].row, 4 + (int64_t)i);
        CU_ASSERT_STRING_EQUAL(c.s.rejs[i].column, "户编号");
        CU_ASSERT_STRING_EQUAL(c.s.rejs[i].reason,
                               "household rejected: member row 4: its rows are not together: "
                               "this household's rows already ended at row 2 (they began at "
                               "row 2); sort the export by 户编号 and deliver it again");
    }
    ctx_done(&c);
}

/* One bad member row rejects every row of its household, each with the
 * reason; the neighbours are not affected; no identity number leaks. */
static void test_bad_member(void)
{
    static const char *const ids[] = {"340402196503120021", "340402196811200032",
                                      "340402201005050044", NULL};
    run_ctx c;

    ctx_init(&c, NULL, NULL);
    feeds(&c, "户编号=H0;身份证号=340421197506060072;姓名=丙;与户主关系=户主");
    feeds(&c, "户编号=H1;身份证号=340402196503120021;姓名=甲;与户主关系=户主");
    feeds(&c, "户编号=H1;身份证号=340402196811200032;姓名=乙;与户主关系=配偶");
    feeds(&c, "户编号=H1;身份证号=340402201005050044;姓名=丁;与户主关系=之子");
    feeds(&c, "户编号=H2;身份证号=340421197707070082;姓名=戊;与户主关系=户主");
    finish(&c);
    CU_ASSERT_EQUAL_FATAL(c.s.nrecs, 2);
    CU_ASSERT_STRING_EQUAL(c.s.recs[0].key, "H0");
    CU_ASSERT_STRING_EQUAL(c.s.recs[1].key, "H2");
    CU_ASSERT_EQUAL_FATAL(c.s.nrejs, 3);
    for (size_t i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(c.s.rejs[i].row, 3 + (int64_t)i);
        CU_ASSERT_STRING_EQUAL(c.s.rejs[i].column, "身份证号");
        CU_ASSERT_STRING_EQUAL(c.s.rejs[i].reason,
                               "household rejected: member row 4: 身份证号: identity number's "
                               "check character is wrong");
        CU_ASSERT_TRUE(t_no_id(c.s.rejs[i].reason, ids));
    }
    /* the dead letters are the rows as read */
    CU_ASSERT_PTR_NOT_NULL(strstr(c.s.rejs[1].raw, "340402196811200032|乙|配偶"));
    ctx_done(&c);
}

#define HEAD "户编号=H;身份证号=340402196503120021;姓名=甲;与户主关系=户主"
#define SPOUSE "户编号=H;身份证号=340402196811200031;姓名=乙;与户主关系=配偶"

/* Household-level checks, each rejecting the whole household. */
static void test_household_rules(void)
{
    static const struct {
        const char *rows[3];
        const char *column, *reason;
    } cases[] = {
        {{HEAD, "户编号=H;身份证号=340402196811200031;姓名=乙;与户主关系=户主"},
         "与户主关系", "member row 3: 与户主关系: a second head of household"},
        {{"户编号=H;身份证号=340402196503120021;姓名=甲;与户主关系=配偶"},
         "与户主关系", "member row 2: 与户主关系: no member is the head of household (户主)"},
        {{HEAD ";家庭人口数=3", SPOUSE ";村级区划代码=;网格编号=;户类型="},
         "家庭人口数", "member row 2: 家庭人口数 says 3 but the export has 2 member rows"},
        {{HEAD, SPOUSE ";村级区划代码=340402100202"},
         "村级区划代码", "member row 3: 村级区划代码 differs from the household's first row (row 2)"},
        {{HEAD, "户编号=H;身份证号=340402196503120021;姓名=甲;与户主关系=配偶"},
         "身份证号", "member row 3: 身份证号: the same person as member row 2"},
        {{HEAD, "户编号=H;身份证号=340402650312002;姓名=甲;与户主关系=配偶"},
         "身份证号", "member row 3: 身份证号: the same person as member row 2"},
        {{HEAD ";监测状态=已纳入监测"},
         "监测对象类别", "member row 2: 监测对象类别: empty, but required for MONITORED or "
         "RISK_ELIMINATED"},
        {{HEAD ";监测状态=风险已消除;监测对象类别=突发严重困难户"},
         "风险消除时间", "风险消除时间: empty, but required for RISK_ELIMINATED"},
        {{HEAD ";监测状态=监测中"},
         "监测状态", "监测状态: unknown value \"监测中\" (allowed: 未纳入监测, 已纳入监测, "
         "未消除风险, 风险已消除, 已消除风险)"},
        {{HEAD ";收入年度=2023"},
         "家庭年纯收入", "家庭年纯收入: empty while 收入年度 is given (both or neither)"},
        {{HEAD ";家庭年人均纯收入=100"},
         "收入年度", "收入年度: empty while 家庭年人均纯收入 is given"},
        {{HEAD ";收入年度=23;家庭年纯收入=1;家庭年人均纯收入=1"},
         "收入年度", "收入年度: 23 is out of range (1949 to 2100)"},
        {{HEAD ";风险类型=01,02,03,04,05,06"}, "风险类型", "风险类型: more than 5 risks"},
        {{HEAD ";风险类型=01，因病"}, "风险类型", "风险类型: risk 01 is listed twice"},
        {{HEAD ";风险类型=1"}, "风险类型",
         "风险类型: \"1\" is not a risk code (2 digits, or 02xx; allowed names: 因病, 因残"},
        {{HEAD ";风险类型=0399"}, "风险类型", "\"0399\" is not a risk code"},
        {{HEAD ";残疾等级=五级"}, "残疾等级", "残疾等级: \"五级\" is not a whole number"},
        {{HEAD ";残疾等级=5"}, "残疾等级", "残疾等级: 5 is out of range (1 to 4)"},
        {{HEAD ";在校生状况=留学"}, "在校生状况", "在校生状况: \"留学\" is not a yes/no value"},
        {{HEAD ";姓名="}, "姓名", "member row 2: 姓名: empty, but required"},
        {{HEAD ";网格编号="}, "网格编号", "member row 2: 网格编号: empty, but required"},
        {{HEAD ";户类型=中等户"},
         "户类型", "户类型: unknown value \"中等户\" (allowed: 脱贫户, 一般农户, 一般户)"},
        {{HEAD ";更新时间=2024-05-31 25:00"},
         "更新时间", "更新时间: \"2024-05-31 25:00\" is not a date and time"},
        {{HEAD, "户编号=;身份证号=340402196811200031;姓名=乙;与户主关系=配偶"},
         "户编号", "member row 3: 户编号: empty"},
        {{HEAD, SPOUSE, "户编号=H;身份证号=340402201005050044;姓名=丁;与户主关系=之子;劳动技能=超人"},
         "劳动技能", "member row 4: 劳动技能: unknown value \"超人\""},
        {{HEAD, "户编号=H;身份证号=3404021968112000;姓名=乙;与户主关系=配偶"},
         "身份证号", "member row 3: 身份证号: identity number has 16 characters"},
        /* the optional columns of Household v2 */
        {{HEAD, SPOUSE ";性别=未知"},
         "性别", "member row 3: 性别: unknown value \"未知\" (allowed: 男, 女)"},
        {{HEAD ";性别=UNKNOWN"},
         "性别", "member row 2: 性别: unknown value \"UNKNOWN\" (allowed: 男, 女)"},
        {{HEAD ";享受低保=也许"},
         "享受低保", "member row 2: 享受低保: \"也许\" is not a yes/no value (是/否, 1/0, "
         "Y/N, true/false, 是, 否, 享受, 未享受)"},
        {{HEAD ";享受低保=是", SPOUSE ";享受低保=否"},
         "享受低保", "member row 3: 享受低保 differs from the household's first row (row 2)"},
        {{HEAD ";特困供养=有", SPOUSE},
         "特困供养", "member row 2: 特困供养: \"有\" is not a yes/no value"},
        {{HEAD ";出生日期=1965-13-12"},
         "出生日期", "member row 2: 出生日期: \"1965-13-12\" is not a date"},
        {{HEAD, SPOUSE ";公益性岗位=护林员"},
         "公益性岗位", "member row 3: 公益性岗位: \"护林员\" is not a yes/no value"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        run_ctx c;
        size_t n = 0;

        ctx_init(&c, NULL, HDR_V2);
        for (; n < 3 && cases[i].rows[n]; n++)
            feeds(&c, cases[i].rows[n]);
        finish(&c);
        CU_ASSERT_EQUAL(c.s.nrecs, 0);
        CU_ASSERT_EQUAL(c.s.nrejs, n);
        for (size_t k = 0; k < c.s.nrejs; k++) {
            if (strcmp(c.s.rejs[k].column, cases[i].column) != 0 ||
                !strstr(c.s.rejs[k].reason, cases[i].reason) ||
                strncmp(c.s.rejs[k].reason, "household rejected: member row ", 31) != 0) {
                fprintf(stderr, "\n    case %zu row %zu: column \"%s\" reason \"%s\"\n    want "
                        "\"%s\" \"%s\"\n", i, k, c.s.rejs[k].column, c.s.rejs[k].reason,
                        cases[i].column, cases[i].reason);
                CU_FAIL("reason");
            }
            CU_ASSERT_EQUAL(c.s.rejs[k].row, 2 + (int64_t)k);
        }
        ctx_done(&c);
    }
}

/* What is accepted: cells left empty on later rows, a size that agrees,
 * conditions that null a field, income all empty, risk names. */
static void test_household_accepts(void)
{
    run_ctx c;
    avro_value_t *v, m;

    ctx_init(&c, NULL, NULL);
    /* RISK_ELIMINATED with everything */
    feeds(&c, "户编号=E;户类型=脱贫户;监测状态=风险已消除;监测对象类别=脱贫不稳定户;"
              "识别时间=2022-01-05;风险消除时间=2023-07-01;风险消除方式=产业帮扶;家庭人口数=2;"
              "收入年度=2023;家庭年纯收入=-120.5;家庭年人均纯收入=-60.25;风险类型=因学 99;"
              "更新时间=20240101;身份证号=340402196503120021;姓名=甲;与户主关系=户主;"
              "劳动技能=丧失劳动力;残疾等级=一级;在校生状况=否");
    /* household cells left empty on a later row (merged cells in the export) */
    feeds(&c, "户编号=E;村级区划代码=;网格编号=;户类型=;身份证号=340402201212300050;姓名=己;"
              "与户主关系=之女;劳动技能=无劳动力;残疾等级=无;在校生状况=初中");
    /* NOT_MONITORED: the category and the elimination cells are ignored */
    feeds(&c, "户编号=F;监测状态=未纳入监测;监测对象类别=边缘易致贫户;识别时间=2022-01-05;"
              "风险消除时间=2023-07-01;风险消除方式=x;身份证号=340421197506060072;姓名=丙;"
              "与户主关系=户主");
    finish(&c);
    CU_ASSERT_EQUAL(c.s.nrejs, 0);
    CU_ASSERT_EQUAL_FATAL(c.s.nrecs, 2);
    v = t_decode(&sc, &c.s, 0);
    CU_ASSERT_STRING_EQUAL(t_enum(v, "household_type"), "POVERTY_ALLEVIATED");
    CU_ASSERT_STRING_EQUAL(t_enum(v, "monitoring.state"), "RISK_ELIMINATED");
    CU_ASSERT_STRING_EQUAL(t_enum(v, "monitoring.category"), "UNSTABLE_ALLEVIATED");
    CU_ASSERT_EQUAL(t_long(v, "monitoring.identified_date"), t_days("2022-01-05"));
    CU_ASSERT_EQUAL(t_long(v, "monitoring.risk_eliminated_date"), t_days("2023-07-01"));
    CU_ASSERT_STRING_EQUAL(t_str(v, "monitoring.risk_elimination_method"), "产业帮扶");
    CU_ASSERT_EQUAL(t_long(v, "household_size"), 2);
    CU_ASSERT_EQUAL(t_long(v, "income.year"), 2023);
    CU_ASSERT_EQUAL(t_long(v, "income.annual_net_fen"), -12050);
    CU_ASSERT_EQUAL(t_long(v, "income.per_capita_net_fen"), -6025);
    CU_ASSERT_EQUAL(t_size(v, "risks"), 2);
    CU_ASSERT_EQUAL(t_long(v, "updated_at"), (t_days("2024-01-01") * 86400 - 8 * 3600) * 1000);
    m = t_member(v, 0);
    CU_ASSERT_EQUAL(t_long(&m, "disability_grade"), 1);
    CU_ASSERT_STRING_EQUAL(t_enum(&m, "labour_capacity"), "LOST");
    CU_ASSERT_EQUAL(t_bool(&m, "in_school"), 0);
    m = t_member(v, 1);
    CU_ASSERT_TRUE(t_is_null(&m, "disability_grade")); /* 无 */
    CU_ASSERT_EQUAL(t_bool(&m, "in_school"), 1);
    CU_ASSERT_STRING_EQUAL(t_enum(&m, "relation"), "CHILD");
    CU_ASSERT_EQUAL(t_long(&m, "birth_date"), t_days("2012-12-30"));
    v = t_decode(&sc, &c.s, 1);
    CU_ASSERT_STRING_EQUAL(t_enum(v, "monitoring.state"), "NOT_MONITORED");
    CU_ASSERT_TRUE(t_is_null(v, "monitoring.category"));
    CU_ASSERT_TRUE(t_is_null(v, "monitoring.risk_eliminated_date"));
    CU_ASSERT_TRUE(t_is_null(v, "monitoring.risk_elimination_method"));
    CU_ASSERT_EQUAL(t_long(v, "monitoring.identified_date"), t_days("2022-01-05"));
    ctx_done(&c);
}

/* A row without a household id: alone it is rejected alone; inside a
 * household it spoils that household (it may be one of its members). */
static void test_empty_household_id(void)
{
    run_ctx c;

    ctx_init(&c, NULL, NULL);
    feeds(&c, "户编号=;身份证号=340402196503120021;姓名=甲;与户主关系=户主");
    CU_ASSERT_EQUAL_FATAL(c.s.nrejs, 1); /* at once: nothing was buffered */
    CU_ASSERT_STRING_EQUAL(c.s.rejs[0].column, "户编号");
    CU_ASSERT_STRING_EQUAL(c.s.rejs[0].reason, "户编号: empty");
    CU_ASSERT_PTR_NULL(tdc_dataset_safe_position(c.ds));
    feed(&c, "short|row"); /* its own household "short", buffered */
    CU_ASSERT_EQUAL(c.s.nrejs, 1);
    feeds(&c, HEAD);
    CU_ASSERT_EQUAL_FATAL(c.s.nrejs, 2);
    CU_ASSERT_STRING_EQUAL(c.s.rejs[1].reason,
                           "household rejected: member row 3: the row has 2 fields, the header "
                           "has 21");
    feed(&c, "|"); /* no id, too short: joins H and spoils it */
    finish(&c);
    CU_ASSERT_EQUAL(c.s.nrecs, 0);
    CU_ASSERT_EQUAL_FATAL(c.s.nrejs, 4);
    CU_ASSERT_STRING_EQUAL(c.s.rejs[3].reason,
                           "household rejected: member row 5: the row has 2 fields, the header "
                           "has 21");
    ctx_done(&c);
}

/* The end of a unit flushes; a new unit without end_unit flushes too, and
 * the id set starts afresh for each unit. */
static void test_units(void)
{
    run_ctx c;
    t_header h2;

    ctx_init(&c, NULL, NULL);
    t_header_init(&h2, HDR);
    feeds(&c, HEAD);
    {
        /* the same household id in the next unit */
        run_ctx tmp = c;

        tmp.h = h2;
        feeds(&tmp, HEAD);
        c.rows_in = tmp.rows_in;
        c.next = tmp.next;
        c.s = tmp.s;
    }
    CU_ASSERT_EQUAL(c.s.nrecs, 1); /* the first unit's H, flushed by the new header */
    CU_ASSERT_EQUAL(c.s.nrejs, 0); /* H again, but in another unit: fine */
    CU_ASSERT_EQUAL(t_end_unit(c.ds, &c.s), 0);
    CU_ASSERT_EQUAL_FATAL(c.s.nrecs, 2);
    CU_ASSERT_EQUAL(c.rows_in, c.s.rows_in_records + (int64_t)c.s.nrejs);
    t_header_done(&h2);
    ctx_done(&c);
}

/* A household larger than the buffer allows: rejected, memory bounded. */
static void test_too_big(void)
{
    run_ctx c;
    char spec[512];

    ctx_init(&c, NULL, NULL);
    for (int i = 0; i < 205; i++) {
        snprintf(spec, sizeof(spec), "户编号=BIG;身份证号=340402196503120021;姓名=甲%d;"
                 "与户主关系=户主", i);
        feeds(&c, spec);
    }
    CU_ASSERT_EQUAL(c.s.nrejs, 205);
    CU_ASSERT_PTR_NULL(tdc_dataset_safe_position(c.ds));
    CU_ASSERT_PTR_NOT_NULL(strstr(c.s.rejs[204].reason, "more than 200 member rows"));
    feeds(&c, HEAD);
    finish(&c);
    CU_ASSERT_EQUAL(c.s.nrecs, 1);
    ctx_done(&c);
}

/* A header without the household id column: every row alone. */
static void test_missing_column(void)
{
    run_ctx c;

    ctx_init(&c, NULL, "村级区划代码|网格编号|户类型|监测状态|身份证号|姓名|与户主关系|劳动技能");
    feed(&c, "340402100201|G|一般农户||340402196503120021|甲|户主|普通劳动力");
    feed(&c, "340402100201|G|一般农户||340402196811200031|乙|配偶|普通劳动力");
    CU_ASSERT_EQUAL(c.s.nrejs, 2);
    CU_ASSERT_PTR_NULL(tdc_dataset_safe_position(c.ds));
    CU_ASSERT_STRING_EQUAL(c.s.rejs[0].column, "户编号");
    CU_ASSERT_STRING_EQUAL(c.s.rejs[1].reason, tdc_dataset_header_problem(c.ds));
    finish(&c);
    ctx_done(&c);
}

/* An export whose per-capita income column has another name: the header
 * lacks a column of the all-or-none income while it has the others. The
 * file is refused as a whole with a reason naming the column and the names
 * looked for, never "empty"; a header without any income column is fine. */
static void test_income_column_renamed(void)
{
    static const char *const want =
        "the header has no column 家庭年人均纯收入; also looked for 人均纯收入 "
        "(income.per_capita_net_fen; needed with 收入年度: all or none); every row of "
        "roster-2024.csv is rejected";
    const char *p;
    char hdr[1024];
    run_ctx c;

    p = strstr(HDR, "家庭年人均纯收入");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    snprintf(hdr, sizeof(hdr), "%.*s人均收入（元）%s", (int)(p - HDR), HDR,
             p + strlen("家庭年人均纯收入"));
    ctx_init(&c, NULL, hdr);
    feed(&c, HH_A "|340402196811200031|王芳|配偶|普通劳动力||非在校生");
    feed(&c, HH_A_REST "|340402196503120021|王建国|户主|弱劳动力或半劳动力|二级|");
    CU_ASSERT_PTR_NOT_NULL_FATAL(tdc_dataset_header_problem(c.ds));
    CU_ASSERT_STRING_EQUAL(tdc_dataset_header_problem(c.ds), want);
    finish(&c);
    CU_ASSERT_EQUAL(c.s.nrecs, 0);
    CU_ASSERT_EQUAL_FATAL(c.s.nrejs, 2);
    for (size_t i = 0; i < 2; i++) {
        CU_ASSERT_STRING_EQUAL(c.s.rejs[i].column, "家庭年人均纯收入");
        CU_ASSERT_STRING_EQUAL(c.s.rejs[i].reason, want);
        CU_ASSERT_PTR_NULL(strstr(c.s.rejs[i].reason, "empty"));
    }
    ctx_done(&c);
}

/* Pseudonymised: person keys are HMACs, birth dates and id_sex still from the number;
 * the same key for the 15- and the 18-digit form of one person. */
static void test_pseudonymised(void)
{
    char *dir = td_test_tmpdir(), path[4096], yaml[4200], want[TD_PSEUDONYM_HEX_LEN + 1];
    static const unsigned char key[40] = "a secret shared by the departments, 40B";
    struct tdc_mapping_config cfg;
    td_error err;
    run_ctx c;
    avro_value_t *v, m;
    FILE *f;

    snprintf(path, sizeof(path), "%s/person.key", dir);
    f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fwrite(key, 1, sizeof(key), f);
    fclose(f);
    chmod(path, 0600);
    snprintf(yaml, sizeof(yaml), "pseudonymize:\n  key_file: %s\n", path);
    CU_ASSERT_EQUAL_FATAL(t_mapping_load(yaml, &cfg, &err), 0);
    ctx_init(&c, &cfg, NULL);
    feeds(&c, "户编号=H;身份证号=340402650312002;姓名=甲;与户主关系=户主");
    feeds(&c, "户编号=H;身份证号=340402196811200031;姓名=乙;与户主关系=配偶");
    finish(&c);
    CU_ASSERT_EQUAL_FATAL(c.s.nrecs, 1);
    v = t_decode(&sc, &c.s, 0);
    m = t_member(v, 0);
    CU_ASSERT_EQUAL(td_idnum_pseudonymize(key, sizeof(key), "340402196503120021", want), 0);
    CU_ASSERT_STRING_EQUAL(t_str(&m, "person_key"), want);
    CU_ASSERT_EQUAL(t_long(&m, "birth_date"), t_days("1965-03-12"));
    CU_ASSERT_FALSE(t_is_null(&m, "id_sex"));
    CU_ASSERT_STRING_EQUAL(t_enum(&m, "id_sex"), "FEMALE"); /* sequence 002 */
    m = t_member(v, 1);
    CU_ASSERT_STRING_EQUAL(t_str(&m, "name"), "乙");
    CU_ASSERT_STRING_EQUAL(t_enum(&m, "id_sex"), "MALE"); /* sequence 003, 18 digits */
    CU_ASSERT_EQUAL(strlen(t_str(&m, "person_key")), TD_PSEUDONYM_HEX_LEN);
    CU_ASSERT_STRING_EQUAL(c.s.recs[0].key, "H"); /* the household id stays the key */
    ctx_done(&c);
    t_mapping_free(&cfg);
    td_test_rmtree(dir);
    free(dir);
}

/* members[].id_sex comes from the identity number's 17th digit (odd MALE,
 * even FEMALE), the sequence digit of a legacy 15-digit number; it is
 * written whether or not the export has the optional columns. */
static void test_id_sex(void)
{
    static const struct {
        const char *id, *sex;
    } cases[] = {
        {"340402196503120021", "FEMALE"}, /* 2 */
        {"340402196811200031", "MALE"},   /* 3 */
        {"34052419800101001X", "MALE"},   /* 1, check character X */
        {"340402201005050044", "FEMALE"}, /* 4 */
        {"340402194001010069", "FEMALE"}, /* 6 */
        {"340402197506060073", "MALE"},   /* 7 */
        {"340402198808080082", "FEMALE"}, /* 8 */
        {"34040219750606009X", "MALE"},   /* 9 */
        {"340402198812310004", "FEMALE"}, /* 0 */
        {"340402196503120056", "MALE"},   /* 5 */
        {"340402650312002", "FEMALE"},    /* 15 digits: sequence 002 */
        {"340402681120003", "MALE"},      /* 15 digits: sequence 003 */
    };
    const char *hdrs[] = {HDR, HDR_V2};

    for (size_t hh = 0; hh < 2; hh++) {
        run_ctx c;
        avro_value_t *v, m;
        char spec[256];
        size_t n = sizeof(cases) / sizeof(cases[0]);

        ctx_init(&c, NULL, hdrs[hh]);
        for (size_t i = 0; i < n; i++) {
            snprintf(spec, sizeof(spec), "户编号=H%zu;身份证号=%s;姓名=甲;与户主关系=户主", i,
                     cases[i].id);
            feeds(&c, spec);
        }
        finish(&c);
        CU_ASSERT_EQUAL(c.s.nrejs, 0);
        CU_ASSERT_EQUAL_FATAL(c.s.nrecs, n);
        for (size_t i = 0; i < n; i++) {
            char id[TD_IDNUM_LEN + 1];
            td_error err;

            v = t_decode(&sc, &c.s, i);
            m = t_member(v, 0);
            CU_ASSERT_FALSE_FATAL(t_is_null(&m, "id_sex"));
            if (strcmp(t_enum(&m, "id_sex"), cases[i].sex) != 0) {
                fprintf(stderr, "\n    case %zu: id_sex %s, want %s\n", i, t_enum(&m, "id_sex"),
                        cases[i].sex);
                CU_FAIL("id_sex");
            }
            /* the roster's own 性别 is not the number's */
            CU_ASSERT_TRUE(t_is_null(&m, "sex"));
            CU_ASSERT_EQUAL(td_idnum_normalize(cases[i].id, strlen(cases[i].id), INT32_MAX, id,
                                               &err), 0);
            CU_ASSERT_STRING_EQUAL(t_str(&m, "person_key"), id);
        }
        ctx_done(&c);
    }
}

/* The optional columns of Household v2: values read, codes applied, empty
 * cells (and absent columns) null, household cells left empty on later
 * rows. */
static void test_optional_columns(void)
{
    run_ctx c;
    avro_value_t *v, m;

    ctx_init(&c, NULL, HDR_V2);
    feeds(&c, "户编号=A;享受低保=是;特困供养=否;身份证号=340402196503120021;姓名=甲;"
              "与户主关系=户主;性别=女;出生日期=1965-03-12;公益性岗位=是");
    /* household cells empty on a later row; a recorded sex and birth date
     * that contradict the number are published as recorded */
    feeds(&c, "户编号=A;村级区划代码=;网格编号=;户类型=;身份证号=340402196811200031;姓名=乙;"
              "与户主关系=配偶;性别=女;出生日期=19681121;公益性岗位=否");
    feeds(&c, "户编号=A;身份证号=340402201005050044;姓名=丙;与户主关系=之女");
    feeds(&c, "户编号=B;享受低保=未享受;特困供养=享受;身份证号=340402194001010069;姓名=丁;"
              "与户主关系=户主;性别=男");
    feeds(&c, "户编号=C;享受低保=;特困供养=;身份证号=340402197506060073;姓名=戊;"
              "与户主关系=户主;性别=;出生日期=;公益性岗位=");
    finish(&c);
    CU_ASSERT_EQUAL(c.s.nrejs, 0);
    CU_ASSERT_EQUAL_FATAL(c.s.nrecs, 3);
    v = t_decode(&sc, &c.s, 0);
    CU_ASSERT_EQUAL(t_bool(v, "dibao"), 1);
    CU_ASSERT_EQUAL(t_bool(v, "tekun"), 0);
    m = t_member(v, 0);
    CU_ASSERT_STRING_EQUAL(t_enum(&m, "sex"), "FEMALE");
    CU_ASSERT_STRING_EQUAL(t_enum(&m, "id_sex"), "FEMALE");
    CU_ASSERT_EQUAL(t_long(&m, "recorded_birth_date"), t_days("1965-03-12"));
    CU_ASSERT_EQUAL(t_bool(&m, "public_welfare_job"), 1);
    m = t_member(v, 1);
    CU_ASSERT_STRING_EQUAL(t_enum(&m, "sex"), "FEMALE");
    CU_ASSERT_STRING_EQUAL(t_enum(&m, "id_sex"), "MALE");
    CU_ASSERT_EQUAL(t_long(&m, "recorded_birth_date"), t_days("1968-11-21"));
    CU_ASSERT_EQUAL(t_long(&m, "birth_date"), t_days("1968-11-20"));
    CU_ASSERT_EQUAL(t_bool(&m, "public_welfare_job"), 0);
    m = t_member(v, 2);
    CU_ASSERT_TRUE(t_is_null(&m, "sex"));
    CU_ASSERT_STRING_EQUAL(t_enum(&m, "id_sex"), "FEMALE");
    CU_ASSERT_TRUE(t_is_null(&m, "recorded_birth_date"));
    CU_ASSERT_TRUE(t_is_null(&m, "public_welfare_job"));
    v = t_decode(&sc, &c.s, 1);
    CU_ASSERT_EQUAL(t_bool(v, "dibao"), 0);
    CU_ASSERT_EQUAL(t_bool(v, "tekun"), 1);
    m = t_member(v, 0);
    CU_ASSERT_STRING_EQUAL(t_enum(&m, "sex"), "MALE");
    CU_ASSERT_STRING_EQUAL(t_enum(&m, "id_sex"), "FEMALE");
    v = t_decode(&sc, &c.s, 2);
    CU_ASSERT_TRUE(t_is_null(v, "dibao"));
    CU_ASSERT_TRUE(t_is_null(v, "tekun"));
    m = t_member(v, 0);
    CU_ASSERT_TRUE(t_is_null(&m, "sex"));
    CU_ASSERT_TRUE(t_is_null(&m, "recorded_birth_date"));
    CU_ASSERT_TRUE(t_is_null(&m, "public_welfare_job"));
    CU_ASSERT_STRING_EQUAL(t_enum(&m, "id_sex"), "MALE");
    ctx_done(&c);

    /* an export without the columns: all null but id_sex */
    ctx_init(&c, NULL, NULL);
    feeds(&c, "户编号=A;身份证号=340402196811200031;姓名=乙;与户主关系=户主");
    finish(&c);
    CU_ASSERT_EQUAL_FATAL(c.s.nrecs, 1);
    v = t_decode(&sc, &c.s, 0);
    CU_ASSERT_TRUE(t_is_null(v, "dibao"));
    CU_ASSERT_TRUE(t_is_null(v, "tekun"));
    m = t_member(v, 0);
    CU_ASSERT_TRUE(t_is_null(&m, "sex"));
    CU_ASSERT_TRUE(t_is_null(&m, "recorded_birth_date"));
    CU_ASSERT_TRUE(t_is_null(&m, "public_welfare_job"));
    CU_ASSERT_STRING_EQUAL(t_enum(&m, "id_sex"), "MALE");
    ctx_done(&c);
}

/* After the engine rewinds its source, reset drops what is buffered:
 * nothing is emitted for it, and the rows read again are mapped afresh. */
static void test_reset(void)
{
    run_ctx c;

    ctx_init(&c, NULL, NULL);
    feeds(&c, HEAD);
    feeds(&c, SPOUSE);
    CU_ASSERT_PTR_NOT_NULL(tdc_dataset_safe_position(c.ds));
    tdc_dataset_reset(c.ds);
    CU_ASSERT_PTR_NULL(tdc_dataset_safe_position(c.ds));
    CU_ASSERT_EQUAL(t_end_unit(c.ds, &c.s), 0);
    CU_ASSERT_EQUAL(c.s.nrecs, 0);
    CU_ASSERT_EQUAL(c.s.nrejs, 0);
    c.rows_in = 0;
    c.next = 2;
    feeds(&c, HEAD);
    feeds(&c, SPOUSE);
    finish(&c);
    CU_ASSERT_EQUAL(c.s.nrecs, 1);
    CU_ASSERT_EQUAL(c.s.nrejs, 0);
    ctx_done(&c);
}

/* A constant in the income record (a one-year export) does not make the
 * income of a household without figures. */
static void test_income_year_constant(void)
{
    struct tdc_mapping_config cfg;
    td_error err;
    run_ctx c;
    avro_value_t *v;

    CU_ASSERT_EQUAL_FATAL(t_mapping_load("constants:\n  income.year: \"2023\"\n", &cfg, &err),
                          0);
    ctx_init(&c, &cfg, "户编号|村级区划代码|网格编号|户类型|监测状态|家庭年纯收入|家庭年人均纯收入|"
                       "身份证号|姓名|与户主关系|劳动技能");
    feeds(&c, "户编号=A;家庭年纯收入=7900;家庭年人均纯收入=7900;身份证号=340402196503120021;"
              "姓名=甲;与户主关系=户主");
    feeds(&c, "户编号=B;身份证号=340402196811200031;姓名=乙;与户主关系=户主");
    feeds(&c, "户编号=C;家庭年纯收入=100;身份证号=340421197506060072;姓名=丙;与户主关系=户主");
    finish(&c);
    CU_ASSERT_EQUAL_FATAL(c.s.nrecs, 2);
    v = t_decode(&sc, &c.s, 0);
    CU_ASSERT_EQUAL(t_long(v, "income.year"), 2023);
    CU_ASSERT_EQUAL(t_long(v, "income.annual_net_fen"), 790000);
    v = t_decode(&sc, &c.s, 1);
    CU_ASSERT_TRUE(t_is_null(v, "income"));
    CU_ASSERT_EQUAL_FATAL(c.s.nrejs, 1);
    CU_ASSERT_STRING_EQUAL(c.s.rejs[0].column, "家庭年人均纯收入");
    ctx_done(&c);
    t_mapping_free(&cfg);
}

/* The count invariant over a mixed fixture: good, bad and non-contiguous
 * households, blank household cells, a ragged row, a bad member. */
static void test_mixed_fixture(void)
{
    char path[4096], *text, *line, *save = NULL;
    run_ctx c;
    bool header = true;

    snprintf(path, sizeof(path), "%s/tests/data/datasets/roster_mixed.psv", td_test_source_root());
    text = td_test_read_file(path, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#')
            continue;
        if (header) {
            ctx_init(&c, NULL, line);
            header = false;
            continue;
        }
        feed(&c, line);
    }
    CU_ASSERT_FALSE_FATAL(header);
    finish(&c);
    CU_ASSERT_EQUAL(c.rows_in, 14);
    CU_ASSERT_EQUAL(c.s.nrecs, 3);
    CU_ASSERT_EQUAL(c.s.rows_in_records, 6);
    CU_ASSERT_EQUAL(c.s.nrejs, 8);
    ctx_done(&c);
    free(text);
}

/* A row deleted in the source (postgres logical mode) is dead-lettered with
 * the dataset's reason, never published. */
static void test_deleted_in_source(void)
{
    static const char *const ids[] = {"34052419800101001X", "340402196811200031", NULL};

    t_check_delete(TDC_DATASET_ROSTER, &sc, HDR, UNIT,
                   HH_ONE "|340402196503120021|王建国|户主|弱劳动力或半劳动力|二级|", ids);
}

/* A delete between a household's rows: the household read so far is
 * emitted first, then the deleted row rejected; nothing stays buffered. */
static void test_delete_ends_household(void)
{
    run_ctx c;
    t_row r;
    tdc_sink k;
    td_error err;

    ctx_init(&c, NULL, NULL);
    feed(&c, HH_ONE "|340402196503120021|王建国|户主|弱劳动力或半劳动力|二级|");
    CU_ASSERT_EQUAL(c.s.nrecs, 0);
    k = t_sink_of(&c.s);
    t_row_init(&r, &c.h, UNIT, c.next++, HH_A_REST "|340402196811200031|王芳|配偶|普通劳动力||");
    r.row.deleted = true;
    CU_ASSERT_EQUAL(tdc_dataset_map(c.ds, &r.row, NULL, &k, &err), 0);
    c.rows_in++;
    t_row_done(&r);
    CU_ASSERT_EQUAL(c.s.nrecs, 1);
    CU_ASSERT_EQUAL_FATAL(c.s.nrejs, 1);
    CU_ASSERT_EQUAL(c.s.rejs[0].row, 3);
    CU_ASSERT_EQUAL(strncmp(c.s.rejs[0].reason, "deleted in the source", 21), 0);
    CU_ASSERT_PTR_NULL(tdc_dataset_safe_position(c.ds));
    finish(&c);
    ctx_done(&c);
}

static void add_suites(void)
{
    td_test_suite("dataset_roster", suite_init, suite_clean);
    TD_TEST(test_deleted_in_source);
    TD_TEST(test_delete_ends_household);
    TD_TEST(test_good_household);
    TD_TEST(test_contiguous_households);
    TD_TEST(test_non_contiguous);
    TD_TEST(test_bad_member);
    TD_TEST(test_household_rules);
    TD_TEST(test_household_accepts);
    TD_TEST(test_empty_household_id);
    TD_TEST(test_units);
    TD_TEST(test_too_big);
    TD_TEST(test_missing_column);
    TD_TEST(test_income_column_renamed);
    TD_TEST(test_pseudonymised);
    TD_TEST(test_id_sex);
    TD_TEST(test_optional_columns);
    TD_TEST(test_income_year_constant);
    TD_TEST(test_reset);
    TD_TEST(test_mixed_fixture);
}

TD_TEST_MAIN(add_suites)
