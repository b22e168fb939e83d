/* test_calendar: China's working days (tdm_calendar.h): the shipped holiday
 * file (deploy/data/china-holidays.csv) and the due dates around the Spring
 * Festival and National Day with their make-up working weekends, the
 * Monday-to-Friday fallback of a year the file does not cover (one warning
 * per year, the metric), reload, and every parse error with its exact
 * FILE:LINE:COL text. */
#include "tdm_calendar.h"
#include "td_date.h"
#include "td_log.h"
#include "td_test.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int32_t ymd(int y, int m, int d)
{
    int32_t days = 0;
    CU_ASSERT_FATAL(td_date_from_ymd(y, m, d, &days));
    return days;
}

static char *shipped_path(void)
{
    char *p = NULL;
    CU_ASSERT_FATAL(asprintf(&p, "%s/deploy/data/china-holidays.csv", td_test_source_root()) > 0);
    return p;
}

/* The warnings logged while a test runs. */
static char warnings[8192];
static int nwarnings;

static void sink(td_log_level level, const char *line, void *opaque)
{
    (void)opaque;
    if (level != TD_LOG_WARNING)
        return;
    nwarnings++;
    strncat(warnings, line, sizeof(warnings) - strlen(warnings) - 2);
    strcat(warnings, "\n");
}

static void capture(void)
{
    warnings[0] = '\0';
    nwarnings = 0;
    td_log_set_sink(sink, NULL);
}

/* ---- the shipped file ---- */

static tdm_holidays *shipped(void)
{
    char *path = shipped_path();
    tdm_holidays *h = NULL;
    td_error err = {0};

    CU_ASSERT_EQUAL(tdm_holidays_load(path, &h, &err), 0);
    if (!h)
        fprintf(stderr, "%s\n", err.msg);
    free(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    return h;
}

static void test_shipped_loads(void)
{
    tdm_holidays *h = shipped();

    CU_ASSERT_EQUAL(tdm_holidays_first_year(h), 2024);
    CU_ASSERT_EQUAL(tdm_holidays_last_year(h), 2026);
    /* each year names its notice */
    CU_ASSERT_PTR_NOT_NULL(strstr(tdm_holidays_source(h, 2024), "国办发明电〔2023〕7号"));
    CU_ASSERT_PTR_NOT_NULL(strstr(tdm_holidays_source(h, 2024), "2023-10-25"));
    CU_ASSERT_PTR_NOT_NULL(strstr(tdm_holidays_source(h, 2025), "国办发明电〔2024〕12号"));
    CU_ASSERT_PTR_NOT_NULL(strstr(tdm_holidays_source(h, 2025), "2024-11-12"));
    CU_ASSERT_PTR_NOT_NULL(strstr(tdm_holidays_source(h, 2026), "2026年部分节假日安排"));
    CU_ASSERT_PTR_NOT_NULL(strstr(tdm_holidays_source(h, 2026), "2025-11-04"));
    CU_ASSERT_PTR_NULL(tdm_holidays_source(h, 2023));
    CU_ASSERT_PTR_NULL(tdm_holidays_source(h, 2027));
    /* weekdays off: 2024 1+5+2+3+1+2+5, 2025 1+6+1+3+1+6, 2026 2+6+1+3+1+1+5;
     * weekends worked: 2024 2+1+2+1+2, 2025 2+1+2, 2026 1+2+1+2 */
    CU_ASSERT_EQUAL(tdm_holidays_count(h, false), 19 + 18 + 19);
    CU_ASSERT_EQUAL(tdm_holidays_count(h, true), 8 + 5 + 6);
    tdm_holidays_free(h);
}

/* The days of the notices, one by one. */
static void test_shipped_days(void)
{
    tdm_holidays *h = shipped();
    tdm_calendar cal;
    static const int off[][3] = {
        {2024, 1, 1}, {2024, 2, 12}, {2024, 2, 16}, {2024, 4, 4}, {2024, 4, 5}, {2024, 5, 1},
        {2024, 5, 3}, {2024, 6, 10}, {2024, 9, 16}, {2024, 9, 17}, {2024, 10, 1}, {2024, 10, 7},
        {2025, 1, 1}, {2025, 1, 28}, {2025, 2, 4}, {2025, 4, 4}, {2025, 5, 5}, {2025, 6, 2},
        {2025, 10, 1}, {2025, 10, 8}, {2026, 1, 1}, {2026, 1, 2}, {2026, 2, 16}, {2026, 2, 23},
        {2026, 4, 6}, {2026, 5, 4}, {2026, 5, 5}, {2026, 6, 19}, {2026, 9, 25}, {2026, 10, 7},
        /* weekend days of a holiday stay off */
        {2024, 2, 10}, {2024, 2, 17}, {2025, 2, 1}, {2026, 2, 15}, {2026, 2, 21},
    };
    static const int worked[][3] = {
        {2024, 2, 4}, {2024, 2, 18}, {2024, 4, 7}, {2024, 4, 28}, {2024, 5, 11}, {2024, 9, 14},
        {2024, 9, 29}, {2024, 10, 12}, {2025, 1, 26}, {2025, 2, 8}, {2025, 4, 27}, {2025, 9, 28},
        {2025, 10, 11}, {2026, 1, 4}, {2026, 2, 14}, {2026, 2, 28}, {2026, 5, 9}, {2026, 9, 20},
        {2026, 10, 10},
        /* ordinary weekdays around them */
        {2024, 2, 9}, {2024, 2, 19}, {2025, 1, 27}, {2025, 2, 5}, {2026, 2, 13}, {2026, 2, 24},
    };

    tdm_holidays_calendar(h, &cal);
    for (size_t i = 0; i < sizeof(off) / sizeof(off[0]); i++)
        CU_ASSERT_FALSE(tdm_calendar_is_working_day(&cal, ymd(off[i][0], off[i][1], off[i][2])));
    for (size_t i = 0; i < sizeof(worked) / sizeof(worked[0]); i++)
        CU_ASSERT_TRUE(
            tdm_calendar_is_working_day(&cal, ymd(worked[i][0], worked[i][1], worked[i][2])));
    /* 2024-02-04 is a working Sunday, 2026-02-28 a working Saturday */
    CU_ASSERT_EQUAL(td_date_weekday(ymd(2024, 2, 4)), 6);
    CU_ASSERT_EQUAL(td_date_weekday(ymd(2026, 2, 28)), 5);
    tdm_holidays_free(h);
}

static void add_is(const tdm_calendar *cal, int32_t from, int n, int32_t want)
{
    int32_t got = tdm_calendar_add_working_days(cal, from, n);
    if (got != want) {
        char a[16], b[16], c[16];
        td_date_format(from, a, sizeof(a));
        td_date_format(got, b, sizeof(b));
        td_date_format(want, c, sizeof(c));
        fprintf(stderr, "%s + %d working days: %s, want %s\n", a, n, b, c);
    }
    CU_ASSERT_EQUAL(got, want);
}

static void test_spring_festival(void)
{
    tdm_holidays *h = shipped();
    tdm_calendar cal;

    tdm_holidays_calendar(h, &cal);
    /* 2024: 2/10-2/17 off, Sundays 2/4 and 2/18 worked */
    add_is(&cal, ymd(2024, 2, 2), 1, ymd(2024, 2, 4));
    add_is(&cal, ymd(2024, 2, 2), 2, ymd(2024, 2, 5));
    add_is(&cal, ymd(2024, 2, 8), 2, ymd(2024, 2, 18));
    add_is(&cal, ymd(2024, 2, 8), 20, ymd(2024, 3, 13));
    /* 2025: 1/28-2/4 off, Sunday 1/26 and Saturday 2/8 worked */
    add_is(&cal, ymd(2025, 1, 24), 2, ymd(2025, 1, 27));
    add_is(&cal, ymd(2025, 1, 27), 2, ymd(2025, 2, 6));
    add_is(&cal, ymd(2025, 1, 27), 20, ymd(2025, 3, 3));
    add_is(&cal, ymd(2025, 2, 7), 1, ymd(2025, 2, 8));
    /* 2026: 2/15-2/23 off, Saturdays 2/14 and 2/28 worked */
    add_is(&cal, ymd(2026, 2, 13), 1, ymd(2026, 2, 14));
    add_is(&cal, ymd(2026, 2, 13), 2, ymd(2026, 2, 24));
    add_is(&cal, ymd(2026, 2, 13), 20, ymd(2026, 3, 19));
    add_is(&cal, ymd(2026, 2, 27), 1, ymd(2026, 2, 28));
    /* the alert's due dates */
    int32_t visit = 0, procedure = 0;
    tdm_alert_due_dates(&cal, ymd(2025, 1, 27), &visit, &procedure);
    CU_ASSERT_EQUAL(visit, ymd(2025, 2, 6));
    CU_ASSERT_EQUAL(procedure, ymd(2025, 3, 3));
    /* Monday to Friday alone would say 1/29 and 2/24 */
    tdm_alert_due_dates(NULL, ymd(2025, 1, 27), &visit, &procedure);
    CU_ASSERT_EQUAL(visit, ymd(2025, 1, 29));
    CU_ASSERT_EQUAL(procedure, ymd(2025, 2, 24));
    tdm_holidays_free(h);
}

static void test_national_day(void)
{
    tdm_holidays *h = shipped();
    tdm_calendar cal;

    tdm_holidays_calendar(h, &cal);
    /* 2024: 10/1-10/7 off, Sunday 9/29 and Saturday 10/12 worked */
    add_is(&cal, ymd(2024, 9, 27), 1, ymd(2024, 9, 29));
    add_is(&cal, ymd(2024, 9, 30), 2, ymd(2024, 10, 9));
    add_is(&cal, ymd(2024, 10, 11), 1, ymd(2024, 10, 12));
    /* 2025 with the Mid-Autumn Festival: 10/1-10/8 off, 9/28 and 10/11 worked */
    add_is(&cal, ymd(2025, 9, 26), 2, ymd(2025, 9, 29));
    add_is(&cal, ymd(2025, 9, 30), 2, ymd(2025, 10, 10));
    add_is(&cal, ymd(2025, 9, 30), 20, ymd(2025, 11, 4));
    /* 2026: 10/1-10/7 off */
    add_is(&cal, ymd(2026, 9, 30), 2, ymd(2026, 10, 9));
    add_is(&cal, ymd(2026, 10, 9), 1, ymd(2026, 10, 10));
    int32_t visit = 0, procedure = 0;
    tdm_alert_due_dates(&cal, ymd(2025, 9, 30), &visit, &procedure);
    CU_ASSERT_EQUAL(visit, ymd(2025, 10, 10));
    CU_ASSERT_EQUAL(procedure, ymd(2025, 11, 4));
    tdm_holidays_free(h);
}

/* ---- the fallback of a year not in the file ---- */

static void test_fallback_warns_once_per_year(void)
{
    char *path = shipped_path();
    tdm_workdays *w = NULL;
    td_metrics *reg = td_metrics_new("tuodi_matchd");
    td_error err = {0};

    CU_ASSERT_PTR_NOT_NULL_FATAL(reg);
    capture();
    CU_ASSERT_EQUAL_FATAL(tdm_workdays_new(path, false, &w, &err), 0);
    tdm_workdays_metrics(w, reg);
    CU_ASSERT_EQUAL(nwarnings, 0);
    const tdm_calendar *cal = tdm_workdays_calendar(w);
    td_metric *fb = td_metrics_counter(reg, "calendar_fallback_total", "", "year");
    td_metric *last = td_metrics_gauge(reg, "calendar_last_year", "", NULL);
    CU_ASSERT_EQUAL(td_metric_value(last), 2026);

    /* inside the file: no warning */
    int32_t visit = 0, procedure = 0;
    tdm_alert_due_dates(cal, ymd(2025, 1, 27), &visit, &procedure);
    CU_ASSERT_EQUAL(procedure, ymd(2025, 3, 3));
    CU_ASSERT_EQUAL(nwarnings, 0);
    /* 2026-12-07 + 20 working days reaches 2027, counted Monday to Friday:
     * one warning for 2027 however many alerts */
    for (int i = 0; i < 5; i++) {
        tdm_alert_due_dates(cal, ymd(2026, 12, 7), &visit, &procedure);
        CU_ASSERT_EQUAL(visit, ymd(2026, 12, 9));
        CU_ASSERT_EQUAL(procedure, ymd(2027, 1, 4));
    }
    CU_ASSERT_EQUAL(nwarnings, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(warnings, "covers 2024 to 2026, not 2027"));
    CU_ASSERT_EQUAL(td_metric_value(fb, "2027"), 5);
    /* a whole day in 2027: still one warning */
    tdm_alert_due_dates(cal, ymd(2027, 10, 1), &visit, &procedure);
    CU_ASSERT_EQUAL(visit, ymd(2027, 10, 5));
    CU_ASSERT_EQUAL(nwarnings, 1);
    CU_ASSERT_EQUAL(td_metric_value(fb, "2027"), 7);
    /* an old year is one more warning */
    tdm_alert_due_dates(cal, ymd(2023, 6, 1), &visit, &procedure);
    CU_ASSERT_EQUAL(nwarnings, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(warnings, "not 2023"));
    CU_ASSERT_EQUAL(td_metric_value(fb, "2023"), 2);
    /* counting from the last day of 2023 into 2024: 2023 only */
    tdm_alert_due_dates(cal, ymd(2023, 12, 29), &visit, &procedure);
    CU_ASSERT_EQUAL(visit, ymd(2024, 1, 3)); /* 2024-01-01 is off */
    CU_ASSERT_EQUAL(td_metric_value(fb, "2023"), 4);
    CU_ASSERT_EQUAL(nwarnings, 2);
    td_log_set_sink(NULL, NULL);
    tdm_workdays_free(w);
    td_metrics_free(reg);
    free(path);
}

static void test_missing_file(void)
{
    tdm_workdays *w = NULL;
    td_error err = {0};
    int first = -1, last = -1;

    /* named by the config: an error */
    CU_ASSERT_EQUAL(tdm_workdays_new("/nonexistent/china-holidays.csv", false, &w, &err),
                    -ENOENT);
    CU_ASSERT_PTR_NULL(w);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "/nonexistent/china-holidays.csv"));
    /* the default path: Monday to Friday, warned */
    capture();
    CU_ASSERT_EQUAL_FATAL(tdm_workdays_new("/nonexistent/china-holidays.csv", true, &w, &err), 0);
    CU_ASSERT_EQUAL(nwarnings, 1);
    tdm_workdays_years(w, &first, &last);
    CU_ASSERT_EQUAL(first, 0);
    CU_ASSERT_EQUAL(last, 0);
    int32_t visit = 0;
    tdm_alert_due_dates(tdm_workdays_calendar(w), ymd(2025, 1, 27), &visit, NULL);
    CU_ASSERT_EQUAL(visit, ymd(2025, 1, 29));
    tdm_alert_due_dates(tdm_workdays_calendar(w), ymd(2025, 1, 27), &visit, NULL);
    CU_ASSERT_EQUAL(nwarnings, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(warnings, "in 2025"));
    td_log_set_sink(NULL, NULL);
    tdm_workdays_free(w);
}

static const char year2025[] =
    "# source 2025: 国务院办公厅关于2025年部分节假日安排的通知\n"
    "date,kind,name\n"
    "2025-01-28,holiday,春节\n"
    "2025-01-26,workday,春节\n";

/* SIGHUP: a bad file keeps the running calendar, a good one replaces it. */
static void test_reload(void)
{
    char *dir = td_test_tmpdir(), *path = NULL;
    tdm_workdays *w = NULL;
    td_error err = {0};
    int first = 0, last = 0;

    CU_ASSERT_FATAL(asprintf(&path, "%s/h.csv", dir) > 0);
    CU_ASSERT_EQUAL_FATAL(td_test_write_file(path, year2025), 0);
    CU_ASSERT_EQUAL_FATAL(tdm_workdays_new(path, false, &w, &err), 0);
    const tdm_calendar *cal = tdm_workdays_calendar(w);
    CU_ASSERT_FALSE(tdm_calendar_is_working_day(cal, ymd(2025, 1, 28)));

    CU_ASSERT_EQUAL_FATAL(td_test_write_file(path, "date,kind,name\n2025-01-28,holiday,春节\n"),
                          0);
    CU_ASSERT_EQUAL(tdm_workdays_reload(w, &err), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "h.csv:3:1: no \"# source YYYY"));
    CU_ASSERT_PTR_EQUAL(tdm_workdays_calendar(w), cal);
    CU_ASSERT_FALSE(tdm_calendar_is_working_day(cal, ymd(2025, 1, 28)));
    tdm_workdays_years(w, &first, &last);
    CU_ASSERT_EQUAL(first, 2025);
    CU_ASSERT_EQUAL(last, 2025);

    char *two = NULL;
    CU_ASSERT_FATAL(asprintf(&two, "%s# source 2026: 国务院办公厅关于2026年部分节假日安排的通知\n"
                                   "2026-02-16,holiday,春节\n", year2025) > 0);
    CU_ASSERT_EQUAL_FATAL(td_test_write_file(path, two), 0);
    CU_ASSERT_EQUAL(tdm_workdays_reload(w, &err), 0);
    CU_ASSERT_PTR_EQUAL(tdm_workdays_calendar(w), cal);
    CU_ASSERT_FALSE(tdm_calendar_is_working_day(cal, ymd(2026, 2, 16)));
    CU_ASSERT_EQUAL(cal->last_year, 2026);
    free(two);
    tdm_workdays_free(w);
    free(path);
    td_test_rmtree(dir);
    free(dir);
}

/* ---- parse errors ---- */

/* Parses text as "t.csv" and checks the error text is exactly want. */
static void fails(const char *text, const char *want)
{
    tdm_holidays *h = NULL;
    td_error err = {0};
    int r = tdm_holidays_parse("t.csv", text, strlen(text), &h, &err);

    CU_ASSERT_EQUAL(r, -EINVAL);
    CU_ASSERT_PTR_NULL(h);
    if (strcmp(err.msg, want) != 0)
        fprintf(stderr, "\ngot:  %s\nwant: %s\n", err.msg, want);
    CU_ASSERT_STRING_EQUAL(err.msg, want);
    tdm_holidays_free(h);
}

#define SRC "# source 2025: 国务院办公厅关于2025年部分节假日安排的通知\n"
#define HDR "date,kind,name\n"
#define OK "2025-01-29,holiday,春节\n"

static void test_parse_ok(void)
{
    tdm_holidays *h = NULL;
    td_error err = {0};
    /* a byte order mark, CR LF, comments, a source after the rows */
    const char text[] = "\xEF\xBB\xBF# a comment\r\n" HDR "2025-01-28,holiday,春节\r\n\r\n"
                        "# sources: a comment too\n" SRC;

    CU_ASSERT_EQUAL_FATAL(tdm_holidays_parse("t.csv", text, strlen(text), &h, &err), 0);
    CU_ASSERT_EQUAL(tdm_holidays_first_year(h), 2025);
    CU_ASSERT_EQUAL(tdm_holidays_count(h, false), 1);
    CU_ASSERT_STRING_EQUAL(tdm_holidays_source(h, 2025),
                           "国务院办公厅关于2025年部分节假日安排的通知");
    tdm_holidays_free(h);
}

static void test_parse_rows(void)
{
    fails(SRC HDR "2025-1-28,holiday,春节\n" OK, "t.csv:3:1: expected a date YYYY-MM-DD");
    fails(SRC HDR "2025-02-29,holiday,春节\n" OK, "t.csv:3:1: 2025-02-29 is not a real date");
    fails(SRC HDR "2025-01-28,off,春节\n" OK,
          "t.csv:3:12: expected holiday (a weekday off) or workday (a weekend day worked, 调休)");
    fails(SRC HDR "2025-01-28,holiday\n" OK,
          "t.csv:3:19: expected 3 fields: date,kind,name (kind holiday or workday)");
    fails(SRC HDR "2025-01-28,holiday,春节,x\n" OK,
          "t.csv:3:22: more than 3 fields (a name has no ',')");
    fails(SRC HDR "2025-01-28,holiday,\n" OK, "t.csv:3:20: the name is empty (e.g. 春节)");
    fails(SRC HDR "2025-01-28,holiday, 春节\n" OK,
          "t.csv:3:20: the name begins or ends with a space");
    fails(SRC HDR "2025-01-28,holiday,\xff\n" OK,
          "t.csv:3:20: not UTF-8 text (or a control character)");
    fails(SRC HDR "2025-02-01,holiday,春节\n" OK,
          "t.csv:3:1: 2025-02-01 is a Saturday: a holiday row is a weekday that is off (a "
          "holiday's weekend days are off anyway and are not listed)");
    fails(SRC HDR "2025-01-27,workday,春节\n" OK,
          "t.csv:3:1: 2025-01-27 is a Monday: a workday row is a Saturday or Sunday that is "
          "worked (调休)");
    fails(SRC HDR "2025-01-28,holiday,春节\n2025-01-28,holiday,春节\n" OK,
          "t.csv:4:1: 2025-01-28 is listed twice (line 3)");
    /* off and worked: the weekday's row is wrong, and the date is on both */
    fails(SRC HDR "2025-01-26,workday,春节\n2025-01-26,holiday,春节\n" OK,
          "t.csv:4:1: 2025-01-26 is a Sunday: a holiday row is a weekday that is off (a "
          "holiday's weekend days are off anyway and are not listed)\n"
          "t.csv:4:1: 2025-01-26 is both a holiday and a workday (line 3)");
}

static void test_parse_file(void)
{
    fails(SRC "2025-01-28,holiday,春节\n" OK,
          "t.csv:2:1: expected the header \"date,kind,name\"");
    fails(SRC "date;kind;name\n2025-01-28,holiday,春节\n",
          "t.csv:2:1: expected the header \"date,kind,name\"");
    fails("", "t.csv:1:1: no header \"date,kind,name\" and no row\n"
              "t.csv:1:1: no \"# source YYYY: <notice>\" line: the file covers no year");
    fails(HDR "2025-01-28,holiday,春节\n",
          "t.csv:2:1: 2025-01-28: year 2025 has no \"# source 2025: <notice>\" line\n"
          "t.csv:3:1: no \"# source YYYY: <notice>\" line: the file covers no year");
    fails(SRC HDR "2025-01-28,holiday,春节\n2026-02-16,holiday,春节\n",
          "t.csv:4:1: 2026-02-16: year 2026 has no \"# source 2026: <notice>\" line");
    fails("# source 2024: a\n# source 2026: b\n" HDR "2024-01-01,holiday,元旦\n"
          "2026-01-01,holiday,元旦\n",
          "t.csv:2:10: year 2026 follows 2024: 2025 has no source line (the covered years "
          "follow each other)");
    fails(SRC SRC HDR "2025-01-28,holiday,春节\n",
          "t.csv:2:10: year 2025 has a source already (line 1)");
    fails("# source 2025:  \n" HDR "2025-01-28,holiday,春节\n",
          "t.csv:1:17: the source of 2025 is empty: name the notice, its number and date\n"
          "t.csv:3:1: 2025-01-28: year 2025 has no \"# source 2025: <notice>\" line\n"
          "t.csv:4:1: no \"# source YYYY: <notice>\" line: the file covers no year");
    fails("# source: 2025 a\n" SRC HDR "2025-01-28,holiday,春节\n",
          "t.csv:1:9: expected a year: write \"# source YYYY: <the notice, its number and "
          "date>\"");
    fails("# source 25: a\n" SRC HDR "2025-01-28,holiday,春节\n",
          "t.csv:1:10: expected a year: write \"# source YYYY: <the notice, its number and "
          "date>\"");
    fails("# source 2025 a\n" SRC HDR "2025-01-28,holiday,春节\n",
          "t.csv:1:14: expected ':' after the year: write \"# source YYYY: <the notice, its "
          "number and date>\"");
    fails(SRC "# source 2026: b\n" HDR "2025-01-28,holiday,春节\n",
          "t.csv:2:10: year 2026 has a source but no row (its holidays are missing)");
    fails(SRC HDR "2025-01-28,holiday,春节\n\x01\n",
          "t.csv:4:1: not UTF-8 text (or a control character)");
}

/* Every problem at once, sorted, the first 10 and a count of the rest. */
static void test_parse_many(void)
{
    char text[4096] = SRC HDR "2025-01-28,holiday,春节\n";

    for (int i = 0; i < 12; i++)
        strcat(text, "x\n");
    fails(text, "t.csv:4:1: expected a date YYYY-MM-DD\n"
                "t.csv:5:1: expected a date YYYY-MM-DD\n"
                "t.csv:6:1: expected a date YYYY-MM-DD\n"
                "t.csv:7:1: expected a date YYYY-MM-DD\n"
                "t.csv:8:1: expected a date YYYY-MM-DD\n"
                "t.csv:9:1: expected a date YYYY-MM-DD\n"
                "t.csv:10:1: expected a date YYYY-MM-DD\n"
                "t.csv:11:1: expected a date YYYY-MM-DD\n"
                "t.csv:12:1: expected a date YYYY-MM-DD\n"
                "t.csv:13:1: expected a date YYYY-MM-DD\n"
                "t.csv: and 2 more problems");
}

/* The file's own name in messages, and files that cannot be read. */
static void test_load_errors(void)
{
    char *dir = td_test_tmpdir(), *path = NULL;
    tdm_holidays *h = NULL;
    td_error err = {0};
    char want[4200];

    CU_ASSERT_FATAL(asprintf(&path, "%s/h.csv", dir) > 0);
    CU_ASSERT_EQUAL(tdm_holidays_load(path, &h, &err), -ENOENT);
    CU_ASSERT_EQUAL_FATAL(td_test_write_file(path, SRC HDR "2025-02-01,holiday,春节\n"), 0);
    CU_ASSERT_EQUAL(tdm_holidays_load(path, &h, &err), -EINVAL);
    snprintf(want, sizeof(want), "%s:3:1: 2025-02-01 is a Saturday: ", path);
    CU_ASSERT_EQUAL(strncmp(err.msg, want, strlen(want)), 0);
    CU_ASSERT_PTR_NULL(h);
    free(path);
    td_test_rmtree(dir);
    free(dir);
}

static void add_suites(void)
{
    td_test_suite("shipped", NULL, NULL);
    TD_TEST(test_shipped_loads);
    TD_TEST(test_shipped_days);
    TD_TEST(test_spring_festival);
    TD_TEST(test_national_day);
    td_test_suite("matchd", NULL, NULL);
    TD_TEST(test_fallback_warns_once_per_year);
    TD_TEST(test_missing_file);
    TD_TEST(test_reload);
    td_test_suite("parse", NULL, NULL);
    TD_TEST(test_parse_ok);
    TD_TEST(test_parse_rows);
    TD_TEST(test_parse_file);
    TD_TEST(test_parse_many);
    TD_TEST(test_load_errors);
}

TD_TEST_MAIN(add_suites)
