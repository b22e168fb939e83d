#include "tdm_alert.h"
#include "td_date.h"
#include "td_test.h"

#include <errno.h>
#include <regex.h>
#include <string.h>

static int32_t ymd(int y, int m, int d)
{
    int32_t days = 0;
    CU_ASSERT_FATAL(td_date_from_ymd(y, m, d, &days));
    return days;
}

/* ---- ids ---- */

static tdm_alert_id_input base_input(void)
{
    tdm_alert_id_input in = {
        .rule_id = "medical-oop-365d",
        .rule_version = "3",
        .household_id = "3404211002010001",
        .person_key = NULL,
        .severity = TDM_SEVERITY_MEDIUM,
        .dataset = "medical_insurance",
        .record_id = "JS2023000123",
        .window_end_day = 0,
    };
    return in;
}

static void id_of(const tdm_alert_id_input *in, char out[TDM_ALERT_ID_LEN + 1])
{
    CU_ASSERT_EQUAL_FATAL(tdm_alert_id(in, out), 0);
    CU_ASSERT_EQUAL(strlen(out), TDM_ALERT_ID_LEN);
    CU_ASSERT_EQUAL(strspn(out, "0123456789abcdef"), TDM_ALERT_ID_LEN);
}

static void test_id_deterministic(void)
{
    tdm_alert_id_input in = base_input();
    char a[TDM_ALERT_ID_LEN + 1], b[TDM_ALERT_ID_LEN + 1];

    id_of(&in, a);
    id_of(&in, b);
    CU_ASSERT_STRING_EQUAL(a, b);
    /* equal strings at other addresses give the same id */
    char rule[] = "medical-oop-365d";
    in.rule_id = rule;
    id_of(&in, b);
    CU_ASSERT_STRING_EQUAL(a, b);
    /* the day is ignored when a record identifies the evidence */
    in.window_end_day = 12345;
    id_of(&in, b);
    CU_ASSERT_STRING_EQUAL(a, b);
    /* a person key is ignored when there is a household */
    in.person_key = "110101199003077777";
    id_of(&in, b);
    CU_ASSERT_STRING_EQUAL(a, b);
}

static void test_id_changes_with_every_input(void)
{
    tdm_alert_id_input base = base_input(), in;
    char ref[TDM_ALERT_ID_LEN + 1], x[TDM_ALERT_ID_LEN + 1], y[TDM_ALERT_ID_LEN + 1];

    id_of(&base, ref);
#define DIFFERS(stmt)                  \
    do {                               \
        in = base;                     \
        stmt;                          \
        id_of(&in, x);                 \
        CU_ASSERT_STRING_NOT_EQUAL(x, ref); \
    } while (0)
    DIFFERS(in.rule_id = "medical-oop-365e");
    DIFFERS(in.rule_version = "4");
    DIFFERS(in.household_id = "3404211002010002");
    DIFFERS(in.severity = TDM_SEVERITY_HIGH);
    DIFFERS(in.dataset = "civil_affairs");
    DIFFERS(in.record_id = "JS2023000124");
    /* a byte moved between fields changes it too */
    DIFFERS((in.rule_id = "medical-oop-365", in.rule_version = "d3"));
    DIFFERS((in.dataset = "medical_insuranceJ", in.record_id = "S2023000123"));
    /* window evidence: the end day */
    DIFFERS((in.dataset = NULL, in.record_id = NULL, in.window_end_day = 19500));
    in = base;
    in.dataset = NULL;
    in.window_end_day = 19500;
    id_of(&in, x);
    in.window_end_day = 19501;
    id_of(&in, y);
    CU_ASSERT_STRING_NOT_EQUAL(x, y);
    /* and the count of the rule's alerts before (a re-raise on the same
     * window end), which a record-based id ignores */
    in.window_end_day = 19500;
    in.seq = 1;
    id_of(&in, y);
    CU_ASSERT_STRING_NOT_EQUAL(x, y);
    in = base;
    in.seq = 7;
    id_of(&in, y);
    CU_ASSERT_STRING_EQUAL(ref, y);
    /* not on the roster: the person key; household and person differ */
    in = base;
    in.household_id = NULL;
    in.person_key = "3404211002010001";
    id_of(&in, x);
    CU_ASSERT_STRING_NOT_EQUAL(x, ref);
    in.person_key = "110101199003077778";
    id_of(&in, y);
    CU_ASSERT_STRING_NOT_EQUAL(x, y);
    /* refused inputs */
    in = base;
    in.rule_id = "";
    CU_ASSERT_EQUAL(tdm_alert_id(&in, x), -EINVAL);
    in = base;
    in.rule_version = NULL;
    CU_ASSERT_EQUAL(tdm_alert_id(&in, x), -EINVAL);
    in = base;
    in.household_id = NULL;
    CU_ASSERT_EQUAL(tdm_alert_id(&in, x), -EINVAL);
    in = base;
    in.severity = (tdm_severity)42;
    CU_ASSERT_EQUAL(tdm_alert_id(&in, x), -EINVAL);
    in = base;
    in.record_id = "";
    CU_ASSERT_EQUAL(tdm_alert_id(&in, x), -EINVAL);
#undef DIFFERS
}

static void test_id_known_value(void)
{
    /* pins the hashing layout: a change here changes every alert id, which
     * breaks replays against alerts already committed. Computed outside C:
     * sha256 of fields tag + u32le length + bytes: T "tuodi-alert-id/1",
     * r rule, v version, h household, s severity rank (1 byte, 2), e dataset,
     * i record id. */
    tdm_alert_id_input in = base_input();
    char x[TDM_ALERT_ID_LEN + 1];

    id_of(&in, x);
    CU_ASSERT_STRING_EQUAL(x, "f629fd19e3cec6ea9888b3a3ca774d9806c697d6c9a5c07e635ea5eb7dd399e7");
}

/* ---- routing ---- */

static void test_route_county(void)
{
    tdm_route r;

    CU_ASSERT_EQUAL_FATAL(tdm_alert_route("340421100201", "abc", &r), 0);
    CU_ASSERT_TRUE(r.routed);
    CU_ASSERT_STRING_EQUAL(r.topic, "tuodi.alerts.340421");
    CU_ASSERT_STRING_EQUAL(r.key, "340421100201");
    CU_ASSERT_STRING_EQUAL(r.county_code, "340421");
    CU_ASSERT_STRING_EQUAL(r.township_code, "340421100");
    CU_ASSERT_STRING_EQUAL(r.village_code, "340421100201");
}

static void test_route_unrouted(void)
{
    const char *bad[] = {NULL, "", "34042110020", "3404211002011", "34042110020X",
                         "000000000000", " 340421100201", "３４０421100201"};
    char id[TDM_ALERT_ID_LEN + 1];
    tdm_alert_id_input in = base_input();
    tdm_route r;

    id_of(&in, id);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CU_ASSERT_EQUAL_FATAL(tdm_alert_route(bad[i], id, &r), 0);
        CU_ASSERT_FALSE(r.routed);
        CU_ASSERT_STRING_EQUAL(r.topic, "tuodi.alerts.unrouted");
        CU_ASSERT_STRING_EQUAL(r.key, id);
        CU_ASSERT_STRING_EQUAL(r.county_code, "");
        CU_ASSERT_STRING_EQUAL(r.township_code, "");
        CU_ASSERT_STRING_EQUAL(r.village_code, "");
    }
    CU_ASSERT_EQUAL(tdm_alert_route("340421100201", "", &r), -EINVAL);
    CU_ASSERT_EQUAL(tdm_alert_route("340421100201", "a b", &r), -EINVAL);
    CU_ASSERT_EQUAL(tdm_alert_route("340421100201", NULL, &r), -EINVAL);
}

/* ---- the county of an outcome ---- */

static void test_outcome_county(void)
{
    char c[TDM_OUTCOME_COUNTY_BUFSZ] = "x";

    CU_ASSERT_EQUAL(tdm_alert_outcome_county("tuodi.verifications.", "tuodi.verifications.340421",
                                             c), 0);
    CU_ASSERT_STRING_EQUAL(c, "340421");
    CU_ASSERT_EQUAL(tdm_alert_outcome_county("p.v.", "p.v.unrouted", c), 0);
    CU_ASSERT_STRING_EQUAL(c, "unrouted");
    {
        const char *bad[] = {"tuodi.verifications", "tuodi.verifications.",
                             "tuodi.verifications.34042", "tuodi.verifications.3404211", "tuodi.verifications.34042x",
                             "tuodi.verifications.340421.x", "x.verifications.340421",
                             "tuodi.alerts.340421", "tuodi.verifications.Unrouted"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            snprintf(c, sizeof(c), "same");
            CU_ASSERT_EQUAL(tdm_alert_outcome_county("tuodi.verifications.", bad[i], c), -EINVAL);
            CU_ASSERT_STRING_EQUAL(c, "same"); /* untouched */
        }
    }
    CU_ASSERT_EQUAL(tdm_alert_outcome_county(NULL, "tuodi.verifications.340421", c), -EINVAL);
}

/* An outcome for another county's alert is refused, naming both counties;
 * the same outcome on the alert's own county's topic passes. */
static void test_outcome_check(void)
{
    const char *pfx = "tuodi.verifications.";
    char why[512] = "";

    CU_ASSERT_EQUAL(tdm_alert_outcome_check(pfx, "tuodi.verifications.340421", "340422", why,
                                            sizeof(why)), -EPERM);
    CU_ASSERT_STRING_EQUAL(why, "the alert is of county 340422, the outcome came on "
                           "tuodi.verifications.340421 (county 340421): a county records "
                           "outcomes only for its own alerts");
    CU_ASSERT_EQUAL(tdm_alert_outcome_check(pfx, "tuodi.verifications.340422", "340422", why,
                                            sizeof(why)), 0);
    /* unrouted alerts (no village) close on the unrouted topic only */
    CU_ASSERT_EQUAL(tdm_alert_outcome_check(pfx, "tuodi.verifications.unrouted", "", why,
                                            sizeof(why)), 0);
    CU_ASSERT_EQUAL(tdm_alert_outcome_check(pfx, "tuodi.verifications.unrouted", NULL, why,
                                            sizeof(why)), 0);
    CU_ASSERT_EQUAL(tdm_alert_outcome_check(pfx, "tuodi.verifications.340421", "", why,
                                            sizeof(why)), -EPERM);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "the alert is unrouted"));
    CU_ASSERT_EQUAL(tdm_alert_outcome_check(pfx, "tuodi.verifications.unrouted", "340421", why,
                                            sizeof(why)), -EPERM);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "of county 340421"));
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "tuodi.verifications.unrouted (unrouted)"));
    CU_ASSERT_EQUAL(tdm_alert_outcome_check(pfx, "tuodi.alerts.340421", "340421", why,
                                            sizeof(why)), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "no verification topic"));
}

/* The subscription regex matches every county's topic and nothing else, as
 * POSIX ERE reads it (librdkafka uses regcomp where it has it). */
static void test_outcome_regex(void)
{
    char re[256];
    regex_t rx;
    const char *yes[] = {"tuodi.verifications.340421", "tuodi.verifications.340402",
                         "tuodi.verifications.unrouted"};
    const char *no[] = {"tuodi.verifications", "tuodi.verifications.34042",
                        "tuodi.verifications.3404210", "tuodiXverifications.340421",
                        "tuodi.verificationsX340421", "xtuodi.verifications.340421",
                        "tuodi.dlq.verifications", "tuodi.verifications.340421x"};

    CU_ASSERT_EQUAL_FATAL(tdm_alert_outcome_regex("tuodi.verifications.", re, sizeof(re)), 0);
    CU_ASSERT_STRING_EQUAL(re, "^tuodi\\.verifications\\.([0-9][0-9][0-9][0-9][0-9][0-9]|"
                           "unrouted)$");
    CU_ASSERT_EQUAL_FATAL(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB), 0);
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        CU_ASSERT_EQUAL(regexec(&rx, yes[i], 0, NULL, 0), 0);
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        CU_ASSERT_NOT_EQUAL(regexec(&rx, no[i], 0, NULL, 0), 0);
    regfree(&rx);
    CU_ASSERT_EQUAL(tdm_alert_outcome_regex("a(b", re, sizeof(re)), -EINVAL);
    CU_ASSERT_EQUAL(tdm_alert_outcome_regex("a b", re, sizeof(re)), -EINVAL);
    CU_ASSERT_EQUAL(tdm_alert_outcome_regex("tuodi.verifications.", re, 20), -ENOSPC);
}

/* ---- due dates ---- */

static void test_due_dates_weekends(void)
{
    int32_t fri = ymd(2023, 5, 12), v, p;

    CU_ASSERT_EQUAL(td_date_weekday(fri), 4);
    tdm_alert_due_dates(NULL, fri, &v, &p);
    CU_ASSERT_EQUAL(v, ymd(2023, 5, 16));        /* Friday + 2 = Tuesday */
    CU_ASSERT_EQUAL(p, ymd(2023, 6, 9));         /* 20 working days = 4 weeks */
    /* raised on a Saturday: Monday is the first working day */
    tdm_alert_due_dates(NULL, fri + 1, &v, &p);
    CU_ASSERT_EQUAL(v, ymd(2023, 5, 16));
    CU_ASSERT_EQUAL(p, ymd(2023, 6, 9));
    /* Wednesday + 2 = Friday; + 20 = four weeks later */
    tdm_alert_due_dates(NULL, ymd(2023, 5, 10), &v, &p);
    CU_ASSERT_EQUAL(v, ymd(2023, 5, 12));
    CU_ASSERT_EQUAL(p, ymd(2023, 6, 7));
}

static void test_due_dates_calendar(void)
{
    /* 2023 Labour Day: 29 April - 3 May off, Sunday 23 April and Saturday 6
     * May worked (调休) */
    int32_t holidays[] = {ymd(2023, 5, 1), ymd(2023, 5, 2), ymd(2023, 5, 3)};
    int32_t workdays[] = {ymd(2023, 4, 23), ymd(2023, 5, 6)};
    tdm_calendar cal = {
        .holidays = holidays, .n_holidays = 3, .workdays = workdays, .n_workdays = 2};
    int32_t v, p;

    CU_ASSERT_FALSE(tdm_calendar_is_working_day(&cal, ymd(2023, 5, 1)));
    CU_ASSERT_TRUE(tdm_calendar_is_working_day(&cal, ymd(2023, 5, 6)));
    CU_ASSERT_TRUE(tdm_calendar_is_working_day(&cal, ymd(2023, 4, 28)));
    /* Friday 28 April + 2: 4 May (Thu), 5 May (Fri) */
    tdm_alert_due_dates(&cal, ymd(2023, 4, 28), &v, &p);
    CU_ASSERT_EQUAL(v, ymd(2023, 5, 5));
    /* Saturday 22 April + 2: Sunday 23 (worked), Monday 24 */
    tdm_alert_due_dates(&cal, ymd(2023, 4, 22), &v, &p);
    CU_ASSERT_EQUAL(v, ymd(2023, 4, 24));
    CU_ASSERT_EQUAL(tdm_calendar_add_working_days(&cal, ymd(2023, 4, 22), 0), ymd(2023, 4, 22));
    /* a date from outside at the end of the range saturates, never wraps */
    CU_ASSERT_EQUAL(tdm_calendar_add_working_days(&cal, INT32_MAX - 3, 20), INT32_MAX);
    /* an empty calendar is Monday to Friday */
    tdm_calendar none = {0};
    CU_ASSERT_EQUAL(tdm_calendar_add_working_days(&none, ymd(2023, 5, 12), 2), ymd(2023, 5, 16));
}

/* ---- overdue ---- */

static void test_overdue_once(void)
{
    tdm_window *w = tdm_window_new();
    int32_t raised = ymd(2023, 5, 12);
    tdm_open_alert a;
    int warnings = 0;

    CU_ASSERT_FATAL(w != NULL);
    memset(&a, 0, sizeof(a));
    strcpy(a.alert_id, "alert-1");
    a.raised_day = raised;
    a.severity = TDM_SEVERITY_MEDIUM;
    tdm_alert_due_dates(NULL, raised, &a.visit_due_day, &a.procedure_due_day);
    CU_ASSERT_EQUAL(tdm_window_open_alert(w, "dibao", &a), 0);
    /* an injectable clock: walk "today" over three weeks */
    for (int32_t today = raised; today < raised + 21; today++) {
        const tdm_open_alert *o;
        for (size_t i = 0; (o = tdm_window_open_at(w, i, NULL)) != NULL; i++) {
            if (tdm_alert_overdue(o, today)) {
                CU_ASSERT_EQUAL(today, a.visit_due_day + 1); /* the day after */
                warnings++;
                CU_ASSERT_EQUAL(tdm_window_mark_overdue_warned(w, o->alert_id), 0);
            }
        }
    }
    CU_ASSERT_EQUAL(warnings, 1);
    /* on the due day itself: not overdue */
    CU_ASSERT_FALSE(tdm_alert_overdue(&a, a.visit_due_day));
    CU_ASSERT_TRUE(tdm_alert_overdue(&a, a.visit_due_day + 1));
    /* the flag survives the bytes */
    size_t n = tdm_window_encoded_size(w);
    unsigned char buf[512];
    tdm_window *back = NULL;
    CU_ASSERT_FATAL(n <= sizeof(buf));
    CU_ASSERT_EQUAL(tdm_window_encode(w, buf, sizeof(buf)), 0);
    CU_ASSERT_EQUAL_FATAL(tdm_window_decode(buf, n, &back, NULL), 0);
    CU_ASSERT_FALSE(tdm_alert_overdue(tdm_window_find_open(back, "dibao"), raised + 100));
    /* a closed alert is not checked (not open); a visit in time: none */
    CU_ASSERT_EQUAL(tdm_window_close_alert(back, "alert-1", raised + 3, 0), 0);
    CU_ASSERT_PTR_NULL(tdm_window_open_at(back, 0, NULL));
    CU_ASSERT_FALSE(tdm_alert_overdue(NULL, raised + 100));
    tdm_window_free(back);
    tdm_window_free(w);
}

/* ---- messages ---- */

/* The longest run of ASCII digits in s. */
static size_t longest_digit_run(const char *s)
{
    size_t best = 0, run = 0;

    for (; *s; s++) {
        run = (*s >= '0' && *s <= '9') ? run + 1 : 0;
        if (run > best)
            best = run;
    }
    return best;
}

static void test_risk_words(void)
{
    CU_ASSERT_STRING_EQUAL(tdm_alert_risk_words("01"), "因病");
    CU_ASSERT_STRING_EQUAL(tdm_alert_risk_words("0201"), "因自然灾害");
    CU_ASSERT_STRING_EQUAL(tdm_alert_risk_words("03"), "因残");
    CU_ASSERT_STRING_EQUAL(tdm_alert_risk_words("04"), "缺劳动力");
    CU_ASSERT_STRING_EQUAL(tdm_alert_risk_words("05"), "因意外事故");
    CU_ASSERT_STRING_EQUAL(tdm_alert_risk_words("07"), "因务工就业不稳");
    CU_ASSERT_STRING_EQUAL(tdm_alert_risk_words("99"), "其他");
    CU_ASSERT_PTR_NULL(tdm_alert_risk_words("08"));
    CU_ASSERT_PTR_NULL(tdm_alert_risk_words("020"));
    CU_ASSERT_PTR_NULL(tdm_alert_risk_words("021"));
    CU_ASSERT_PTR_NULL(tdm_alert_risk_words(NULL));
}

static void test_message(void)
{
    tdm_message_input in = {
        .rule_name = "医疗自付费用365天累计超标",
        .risk_code = "01",
        .severity = TDM_SEVERITY_HIGH,
        .on_roster = true,
        .village_code = "340421100201",
        .head_name = "张三",
        .person_name = "李四",
        .has_measure = true,
        .value = 2345600,
        .threshold = 500000,
        .unit = TDM_UNIT_FEN,
        .visit_due_day = ymd(2023, 5, 16),
        .procedure_due_day = ymd(2023, 6, 9),
    };
    char buf[TDM_ALERT_MESSAGE_MAX];

    CU_ASSERT_EQUAL_FATAL(tdm_alert_message(&in, buf, sizeof(buf)), 0);
    CU_ASSERT_STRING_EQUAL(buf, "【高】医疗自付费用365天累计超标（风险：因病）：村代码340421100201，"
                                "户主张三家（成员李四）。测量值23456.00元，阈值5000.00元。"
                                "请于2023-05-16前入户核查，2023-06-09前办结。");
    CU_ASSERT(longest_digit_run(buf) < 15);

    /* not on the roster, unrouted, no measure, share of income */
    in.on_roster = false;
    in.village_code = NULL;
    in.head_name = NULL;
    in.risk_code = "07";
    in.severity = TDM_SEVERITY_MEDIUM;
    in.unit = TDM_UNIT_BASIS_POINTS;
    in.value = 5000;
    in.threshold = 4999;
    CU_ASSERT_EQUAL_FATAL(tdm_alert_message(&in, buf, sizeof(buf)), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "名册外人员李四"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "村代码未知"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "因务工就业不稳"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "测量值50.00%，阈值49.99%"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "【中】"));

    /* identity numbers that came in through names are masked */
    in.person_name = "110101199003077777";
    in.head_name = "11010119900307777X";
    in.on_roster = true;
    in.rule_name = "规则 340421100201001 号";
    in.has_measure = true;
    in.unit = TDM_UNIT_FEN;
    in.value = 900000000000000000; /* 9e15 yuan: a 16-digit run */
    CU_ASSERT_EQUAL_FATAL(tdm_alert_message(&in, buf, sizeof(buf)), 0);
    CU_ASSERT(longest_digit_run(buf) < 15);
    CU_ASSERT_PTR_NULL(strstr(buf, "X"));
    CU_ASSERT_PTR_NULL(strstr(buf, "110101"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "**************"));

    /* unknown risk code: named by its code; bad input; small buffer */
    in.risk_code = "08";
    CU_ASSERT_EQUAL_FATAL(tdm_alert_message(&in, buf, sizeof(buf)), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "风险类型08"));
    CU_ASSERT_EQUAL(tdm_alert_message(&in, buf, 20), -ENOSPC);
    CU_ASSERT_STRING_EQUAL(buf, "");
    in.rule_name = NULL;
    CU_ASSERT_EQUAL(tdm_alert_message(&in, buf, sizeof(buf)), -EINVAL);
}

static void add_suites(void)
{
    td_test_suite("ids", NULL, NULL);
    TD_TEST(test_id_deterministic);
    TD_TEST(test_id_changes_with_every_input);
    TD_TEST(test_id_known_value);
    td_test_suite("routing", NULL, NULL);
    TD_TEST(test_route_county);
    TD_TEST(test_route_unrouted);
    td_test_suite("outcome_county", NULL, NULL);
    TD_TEST(test_outcome_county);
    TD_TEST(test_outcome_check);
    TD_TEST(test_outcome_regex);
    td_test_suite("due", NULL, NULL);
    TD_TEST(test_due_dates_weekends);
    TD_TEST(test_due_dates_calendar);
    TD_TEST(test_overdue_once);
    td_test_suite("message", NULL, NULL);
    TD_TEST(test_risk_words);
    TD_TEST(test_message);
}

TD_TEST_MAIN(add_suites)
