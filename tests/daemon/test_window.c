#include "tdm_window.h"
#include "td_date.h"
#include "td_test.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define OOP "medical_oop"

static int32_t ymd(int y, int m, int d)
{
    int32_t days = 0;
    CU_ASSERT_FATAL(td_date_from_ymd(y, m, d, &days));
    return days;
}

static int64_t sum(const tdm_window *w, int32_t end, int days)
{
    int64_t s = -1;
    CU_ASSERT_EQUAL(tdm_window_sum(w, OOP, end, days, &s), 0);
    return s;
}

static tdm_open_alert make_alert(const char *id, int32_t raised, tdm_severity sev)
{
    tdm_open_alert a;

    memset(&a, 0, sizeof(a));
    strcpy(a.alert_id, id);
    a.raised_day = raised;
    a.severity = sev;
    a.visit_due_day = raised + 2;
    a.procedure_due_day = raised + 28;
    strcpy(a.village_code, "340421100201");
    return a;
}

/* ---- amount windows ---- */

static void test_sum_boundary_365(void)
{
    tdm_window *w = tdm_window_new();
    int32_t d = ymd(2023, 6, 30);

    CU_ASSERT_FATAL(w != NULL);
    CU_ASSERT_EQUAL(tdm_window_add(w, OOP, d - 365, 100000), 0); /* 365 days old: out */
    CU_ASSERT_EQUAL(tdm_window_add(w, OOP, d - 364, 20000), 0);  /* 364 days old: in */
    CU_ASSERT_EQUAL(tdm_window_add(w, OOP, d, 300), 0);          /* the end day: in */
    CU_ASSERT_EQUAL(tdm_window_add(w, OOP, d + 1, 4), 0);        /* after the end: out */
    CU_ASSERT_EQUAL(sum(w, d, 365), 20300);
    /* a day later the 364-day-old spending is 365 days old */
    CU_ASSERT_EQUAL(sum(w, d + 1, 365), 304);
    /* a day earlier the 365-day-old spending was 364 days old */
    CU_ASSERT_EQUAL(sum(w, d - 1, 365), 120000);
    /* unknown series sums to 0; bad arguments refused */
    int64_t s = -1;
    CU_ASSERT_EQUAL(tdm_window_sum(w, "temp_relief", d, 365, &s), 0);
    CU_ASSERT_EQUAL(s, 0);
    CU_ASSERT_EQUAL(tdm_window_sum(w, OOP, d, 0, &s), -EINVAL);
    CU_ASSERT_EQUAL(tdm_window_sum(w, "", d, 365, &s), -EINVAL);
    CU_ASSERT_EQUAL(tdm_window_sum(w, "has space", d, 365, &s), -EINVAL);
    CU_ASSERT_EQUAL(tdm_window_add(w, "", d, 1), -EINVAL);
    tdm_window_free(w);
}

static void test_sum_out_of_order(void)
{
    tdm_window *a = tdm_window_new(), *b = tdm_window_new();
    int32_t d = ymd(2023, 12, 31);
    int32_t days[] = {d - 10, d - 400, d - 364, d - 1, d - 200, d - 365, d - 10, d - 50};
    int64_t amt[] = {500, 7, 1000, 1, 250000, 99, -200, 3};
    size_t n = sizeof(days) / sizeof(days[0]);

    CU_ASSERT_FATAL(a && b);
    for (size_t i = 0; i < n; i++)
        CU_ASSERT_EQUAL(tdm_window_add(a, OOP, days[i], amt[i]), 0);
    for (size_t i = n; i-- > 0;)
        CU_ASSERT_EQUAL(tdm_window_add(b, OOP, days[i], amt[i]), 0);
    /* in: d-10 (500-200), d-364, d-1, d-200, d-50; out: d-400, d-365 */
    CU_ASSERT_EQUAL(sum(a, d, 365), 300 + 1000 + 1 + 250000 + 3);
    CU_ASSERT_TRUE(tdm_window_equal(a, b));
    /* a late settlement for an older date lands in its own day */
    CU_ASSERT_EQUAL(tdm_window_add(a, OOP, d - 300, 4200), 0);
    CU_ASSERT_EQUAL(sum(a, d, 365), 300 + 1000 + 1 + 250000 + 3 + 4200);
    CU_ASSERT_EQUAL(sum(a, d - 301, 365), 7 + 99 + 1000);
    /* a correction that cancels a day removes the bucket */
    size_t before = tdm_window_bucket_count(a, OOP);
    CU_ASSERT_EQUAL(tdm_window_add(a, OOP, d - 300, -4200), 0);
    CU_ASSERT_EQUAL(tdm_window_bucket_count(a, OOP), before - 1);
    CU_ASSERT_TRUE(tdm_window_equal(a, b));
    tdm_window_free(a);
    tdm_window_free(b);
}

static void test_many_small_amounts(void)
{
    tdm_window *w = tdm_window_new();
    int32_t d0 = ymd(2022, 1, 1);
    int64_t want = 0;

    CU_ASSERT_FATAL(w != NULL);
    /* three small settlements a day for 730 days, amounts 1..3 fen */
    for (int k = 0; k < 730; k++)
        for (int j = 1; j <= 3; j++)
            CU_ASSERT_EQUAL(tdm_window_add(w, OOP, d0 + k, j), 0);
    CU_ASSERT_EQUAL(tdm_window_bucket_count(w, OOP), 730);
    for (int k = 730 - 365; k < 730; k++)
        want += 6;
    CU_ASSERT_EQUAL(sum(w, d0 + 729, 365), want);
    /* check every end day against a brute-force sum */
    for (int end = 0; end < 760; end += 7) {
        int64_t brute = 0;
        for (int k = 0; k < 730; k++)
            if (k > end - 365 && k <= end)
                brute += 6;
        CU_ASSERT_EQUAL(sum(w, d0 + end, 365), brute);
    }
    tdm_window_free(w);
}

static void test_expiry_keeps_sums_exact(void)
{
    tdm_window *w = tdm_window_new(), *ref = tdm_window_new();
    int32_t d0 = ymd(2021, 3, 1);
    int64_t s;

    CU_ASSERT_FATAL(w && ref);
    for (int k = 0; k < 1000; k++) {
        CU_ASSERT_EQUAL(tdm_window_add(w, OOP, d0 + k, 100 + k), 0);
        CU_ASSERT_EQUAL(tdm_window_add(ref, OOP, d0 + k, 100 + k), 0);
        /* expire as the daemon would: longest window 365 + 35 days' lateness */
        CU_ASSERT_EQUAL(tdm_window_expire(w, d0 + k, 400), 0);
        CU_ASSERT(tdm_window_bucket_count(w, OOP) <= 400);
        if (k >= 365) {
            int64_t a = -1, b = -2;
            CU_ASSERT_EQUAL(tdm_window_sum(w, OOP, d0 + k, 365, &a), 0);
            CU_ASSERT_EQUAL(tdm_window_sum(ref, OOP, d0 + k, 365, &b), 0);
            CU_ASSERT_EQUAL(a, b);
            /* a window ending 35 days back (late record) is still exact */
            CU_ASSERT_EQUAL(tdm_window_sum(w, OOP, d0 + k - 35, 365, &a), 0);
            CU_ASSERT_EQUAL(tdm_window_sum(ref, OOP, d0 + k - 35, 365, &b), 0);
            CU_ASSERT_EQUAL(a, b);
        }
    }
    int32_t floor = tdm_window_floor(w);
    CU_ASSERT_EQUAL(floor, d0 + 999 - 400);
    /* a window reaching into expired days is refused, not short */
    CU_ASSERT_EQUAL(tdm_window_sum(w, OOP, d0 + 999 - 36, 365, &s), -ERANGE);
    /* records older than the floor are refused and not stored */
    CU_ASSERT_EQUAL(tdm_window_add(w, OOP, floor, 5), -ERANGE);
    CU_ASSERT_EQUAL(tdm_window_add(w, OOP, floor + 1, 5), 0);
    /* the floor never moves back */
    CU_ASSERT_EQUAL(tdm_window_expire(w, d0, 400), 0);
    CU_ASSERT_EQUAL(tdm_window_floor(w), floor);
    CU_ASSERT_EQUAL(tdm_window_expire(w, d0, 0), -EINVAL);
    tdm_window_free(w);
    tdm_window_free(ref);
}

static void test_overflow_refused(void)
{
    tdm_window *w = tdm_window_new();
    int32_t d = ymd(2023, 1, 1);
    int64_t s;

    CU_ASSERT_FATAL(w != NULL);
    CU_ASSERT_EQUAL(tdm_window_add(w, OOP, d, INT64_MAX), 0);
    CU_ASSERT_EQUAL(tdm_window_add(w, OOP, d, 1), -EOVERFLOW);
    CU_ASSERT_EQUAL(tdm_window_add(w, OOP, d + 1, 1), 0);
    CU_ASSERT_EQUAL(tdm_window_sum(w, OOP, d + 1, 365, &s), -EOVERFLOW);
    tdm_window_free(w);
}

/* ---- departments ---- */

static void test_departments_within_90(void)
{
    tdm_window *w = tdm_window_new();
    int32_t d = ymd(2023, 8, 1);

    CU_ASSERT_FATAL(w != NULL);
    CU_ASSERT_EQUAL(tdm_window_departments_within(w, d, 90), 0);
    CU_ASSERT_EQUAL(tdm_window_signal(w, "med", TDM_DEPT_MEDICAL_INSURANCE, d), 0);
    CU_ASSERT_EQUAL(tdm_window_departments_within(w, d, 90), 1);

    CU_ASSERT_EQUAL(tdm_window_signal(w, "dibao", TDM_DEPT_CIVIL_AFFAIRS, d - 89), 0);
    CU_ASSERT_EQUAL(tdm_window_departments_within(w, d, 90), 2); /* 89 days: in */
    CU_ASSERT_EQUAL(tdm_window_departments_within(w, d + 1, 90), 1); /* now 90: out */
    CU_ASSERT_EQUAL(tdm_window_departments_within(w, d + 2, 90), 1); /* 91: out */
    /* two rules of one department count once */
    CU_ASSERT_EQUAL(tdm_window_signal(w, "temp", TDM_DEPT_CIVIL_AFFAIRS, d - 1), 0);
    CU_ASSERT_EQUAL(tdm_window_departments_within(w, d, 90), 2);

    tdm_window *w2 = tdm_window_new();
    CU_ASSERT_FATAL(w2 != NULL);
    CU_ASSERT_EQUAL(tdm_window_signal(w2, "job", TDM_DEPT_HUMAN_RESOURCES, d - 90), 0);
    CU_ASSERT_EQUAL(tdm_window_signal(w2, "med", TDM_DEPT_MEDICAL_INSURANCE, d), 0);
    CU_ASSERT_EQUAL(tdm_window_departments_within(w2, d, 90), 1); /* 90 days: out */
    CU_ASSERT_EQUAL(tdm_window_signal(w2, "job", TDM_DEPT_HUMAN_RESOURCES, d - 91), 0);
    CU_ASSERT_EQUAL(tdm_window_departments_within(w2, d, 90), 1);
    CU_ASSERT_EQUAL(tdm_window_signal(w2, "dibao", TDM_DEPT_CIVIL_AFFAIRS, d - 1), 0);
    CU_ASSERT_EQUAL(tdm_window_departments_within(w2, d, 90), 2);

    /* a late record pairs with a newer signal already seen */
    CU_ASSERT_EQUAL(tdm_window_departments_within(w2, d - 60, 90), 3);
    CU_ASSERT_EQUAL(tdm_window_signal(w2, "x", TDM_DEPT_COUNT, d), -EINVAL);
    CU_ASSERT_EQUAL(tdm_window_signal(w2, "", TDM_DEPT_CIVIL_AFFAIRS, d), -EINVAL);
    CU_ASSERT_EQUAL(tdm_window_departments_within(w2, d, 0), 0);
    tdm_window_free(w);
    tdm_window_free(w2);
}

/* Every signal day is kept per rule: a late record sees an older signal of
 * a department that signalled again since (the latest day alone would be
 * too far away), and the state is the same for any order of the signals. */
static void test_signals_every_day(void)
{
    const int32_t d = ymd(2023, 8, 1);
    const int32_t days[3] = {d - 200, d, d - 100};
    tdm_window *w = tdm_window_new();
    const int32_t *got = NULL;

    CU_ASSERT_FATAL(w != NULL);
    CU_ASSERT_EQUAL(tdm_window_signal(w, "dibao", TDM_DEPT_CIVIL_AFFAIRS, d - 200), 0);
    CU_ASSERT_EQUAL(tdm_window_signal(w, "dibao", TDM_DEPT_CIVIL_AFFAIRS, d), 0);
    /* a late medical record of d - 190: the civil signal of d - 200 counts */
    CU_ASSERT_EQUAL(tdm_window_signal(w, "med", TDM_DEPT_MEDICAL_INSURANCE, d - 190), 0);
    CU_ASSERT_EQUAL(tdm_window_departments_within(w, d - 190, 90), 2);
    CU_ASSERT_EQUAL(tdm_window_departments_within(w, d - 100, 90), 0);
    CU_ASSERT_EQUAL_FATAL(tdm_window_signal_days(w, "dibao", &got), 2);
    CU_ASSERT_EQUAL(got[0], d - 200);
    CU_ASSERT_EQUAL(got[1], d);
    CU_ASSERT_EQUAL(tdm_window_signal_days(w, "nothing", &got), 0);
    CU_ASSERT_EQUAL(tdm_window_signal(w, "dibao", TDM_DEPT_CIVIL_AFFAIRS, d), 0); /* again */
    CU_ASSERT_EQUAL(tdm_window_signal_days(w, "dibao", NULL), 2);

    /* every order of the same signals gives the same state */
    static const int perm[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                   {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    tdm_window *first = NULL;
    for (int p = 0; p < 6; p++) {
        tdm_window *x = tdm_window_new();
        CU_ASSERT_FATAL(x != NULL);
        for (int k = 0; k < 3; k++) {
            int i = perm[p][k];
            CU_ASSERT_EQUAL(tdm_window_signal(x, i == 1 ? "med" : "dibao",
                                              i == 1 ? TDM_DEPT_MEDICAL_INSURANCE
                                                     : TDM_DEPT_CIVIL_AFFAIRS,
                                              days[i]), 0);
        }
        if (!first)
            first = x;
        else {
            CU_ASSERT_TRUE(tdm_window_equal(first, x));
            tdm_window_free(x);
        }
    }
    /* expiry drops the old days only */
    CU_ASSERT_EQUAL(tdm_window_expire(first, d, 150), 0);
    CU_ASSERT_EQUAL_FATAL(tdm_window_signal_days(first, "dibao", &got), 1);
    CU_ASSERT_EQUAL(got[0], d - 100);
    CU_ASSERT_EQUAL(tdm_window_signal_days(first, "med", &got), 1);
    CU_ASSERT_EQUAL(tdm_window_signal(first, "med", TDM_DEPT_MEDICAL_INSURANCE, d - 150),
                    -ERANGE);
    CU_ASSERT_EQUAL(tdm_window_spent_day(first, 150), d + 150);
    CU_ASSERT_EQUAL(tdm_window_expire(first, d + 150, 150), 0);
    CU_ASSERT_TRUE(tdm_window_is_spent(first));
    tdm_window_free(first);
    tdm_window_free(w);
}

/* An open alert keeps its id when its severity rises; it never goes down. */
static void test_escalate(void)
{
    tdm_window *w = tdm_window_new();
    int32_t d = ymd(2023, 3, 1);
    tdm_open_alert a = make_alert("alert-1", d, TDM_SEVERITY_MEDIUM);

    CU_ASSERT_FATAL(w != NULL);
    a.anchor_day = d - 3;
    CU_ASSERT_EQUAL(tdm_window_open_alert(w, "medical-oop-365d", &a), 0);
    CU_ASSERT_EQUAL(tdm_window_find_open(w, "medical-oop-365d")->anchor_day, d - 3);
    CU_ASSERT_EQUAL(tdm_window_escalate(w, "alert-1", TDM_SEVERITY_LOW), 0);
    CU_ASSERT_EQUAL(tdm_window_escalate(w, "alert-1", TDM_SEVERITY_MEDIUM), 0);
    CU_ASSERT_EQUAL(tdm_window_find_open(w, "medical-oop-365d")->severity,
                    TDM_SEVERITY_MEDIUM);
    CU_ASSERT_EQUAL(tdm_window_escalate(w, "alert-1", TDM_SEVERITY_HIGH), 1);
    CU_ASSERT_EQUAL(tdm_window_find_open(w, "medical-oop-365d")->severity, TDM_SEVERITY_HIGH);
    CU_ASSERT_STRING_EQUAL(tdm_window_find_open(w, "medical-oop-365d")->alert_id, "alert-1");
    CU_ASSERT_EQUAL(tdm_window_escalate(w, "alert-1", TDM_SEVERITY_LOW), 0);
    CU_ASSERT_EQUAL(tdm_window_find_open(w, "medical-oop-365d")->severity, TDM_SEVERITY_HIGH);
    CU_ASSERT_EQUAL(tdm_window_escalate(w, "nope", TDM_SEVERITY_HIGH), -ENOENT);
    CU_ASSERT_EQUAL(tdm_window_escalate(w, "alert-1", (tdm_severity)42), -EINVAL);
    /* a hit at any severity while it is open raises nothing */
    CU_ASSERT_EQUAL(tdm_window_may_alert(w, "medical-oop-365d", d + 5, TDM_SEVERITY_HIGH),
                    TDM_MAY_NOT_OPEN);
    tdm_window_free(w);
}

/* ---- suppression ---- */

static void test_suppression(void)
{
    tdm_window *w = tdm_window_new();
    int32_t d = ymd(2023, 3, 1);
    tdm_open_alert a = make_alert("alert-1", d, TDM_SEVERITY_MEDIUM);
    const char *rule = NULL;

    CU_ASSERT_FATAL(w != NULL);
    CU_ASSERT_EQUAL(tdm_window_may_alert(w, "medical-oop-365d", d, TDM_SEVERITY_MEDIUM),
                    TDM_MAY_RAISE);
    CU_ASSERT_EQUAL(tdm_window_open_alert(w, "medical-oop-365d", &a), 0);
    /* open: the same or a lower severity does not alert */
    CU_ASSERT_EQUAL(tdm_window_may_alert(w, "medical-oop-365d", d + 5, TDM_SEVERITY_MEDIUM),
                    TDM_MAY_NOT_OPEN);
    CU_ASSERT_EQUAL(tdm_window_may_alert(w, "medical-oop-365d", d + 500, TDM_SEVERITY_LOW),
                    TDM_MAY_NOT_OPEN);
    CU_ASSERT_FALSE(tdm_may_raise(TDM_MAY_NOT_OPEN));
    /* another rule is not affected */
    CU_ASSERT_EQUAL(tdm_window_may_alert(w, "dibao", d, TDM_SEVERITY_LOW), TDM_MAY_RAISE);
    /* a higher severity does not alert either: the open one is escalated */
    CU_ASSERT_EQUAL(tdm_window_may_alert(w, "medical-oop-365d", d + 5, TDM_SEVERITY_HIGH),
                    TDM_MAY_NOT_OPEN);
    /* a new open alert replaces the open one (not done by tdm_eval any more) */
    tdm_open_alert b = make_alert("alert-2", d + 5, TDM_SEVERITY_HIGH);
    CU_ASSERT_EQUAL(tdm_window_open_alert(w, "medical-oop-365d", &b), 0);
    CU_ASSERT_PTR_NULL(tdm_window_find_alert(w, "alert-1", NULL));
    CU_ASSERT_PTR_NOT_NULL(tdm_window_find_alert(w, "alert-2", &rule));
    CU_ASSERT_STRING_EQUAL(rule, "medical-oop-365d");
    CU_ASSERT_EQUAL(tdm_window_find_open(w, "medical-oop-365d")->severity, TDM_SEVERITY_HIGH);
    /* the same alert id under another rule is refused */
    CU_ASSERT_EQUAL(tdm_window_open_alert(w, "dibao", &b), -EEXIST);

    /* dismissed on day X: suppressed through X + 89, free from X + 90 */
    int32_t x = d + 10;
    CU_ASSERT_EQUAL(tdm_window_close_alert(w, "alert-2", x, TDM_DISMISS_SUPPRESS_DAYS), 0);
    CU_ASSERT_EQUAL(tdm_window_close_alert(w, "alert-2", x, TDM_DISMISS_SUPPRESS_DAYS), -ENOENT);
    CU_ASSERT_PTR_NULL(tdm_window_find_open(w, "medical-oop-365d"));
    CU_ASSERT_EQUAL(tdm_window_may_alert(w, "medical-oop-365d", x + 89, TDM_SEVERITY_HIGH),
                    TDM_MAY_NOT_DISMISSED);
    CU_ASSERT_EQUAL(tdm_window_may_alert(w, "medical-oop-365d", x + 1, TDM_SEVERITY_LOW),
                    TDM_MAY_NOT_DISMISSED);
    CU_ASSERT_EQUAL(tdm_window_may_alert(w, "medical-oop-365d", x + 90, TDM_SEVERITY_HIGH),
                    TDM_MAY_RAISE);
    CU_ASSERT_EQUAL(tdm_window_may_alert(w, "medical-oop-365d", x + 200, TDM_SEVERITY_LOW),
                    TDM_MAY_RAISE);

    /* a rise above the dismissed severity alerts within the 90 days */
    tdm_open_alert c = make_alert("alert-3", d, TDM_SEVERITY_LOW);
    CU_ASSERT_EQUAL(tdm_window_open_alert(w, "dibao", &c), 0);
    CU_ASSERT_EQUAL(tdm_window_close_alert(w, "alert-3", x, TDM_DISMISS_SUPPRESS_DAYS), 0);
    CU_ASSERT_EQUAL(tdm_window_may_alert(w, "dibao", x + 89, TDM_SEVERITY_LOW),
                    TDM_MAY_NOT_DISMISSED);
    CU_ASSERT_EQUAL(tdm_window_may_alert(w, "dibao", x + 89, TDM_SEVERITY_MEDIUM),
                    TDM_MAY_RAISE);

    /* an outcome other than a dismissal leaves the rule free */
    tdm_open_alert e = make_alert("alert-4", d, TDM_SEVERITY_LOW);
    CU_ASSERT_EQUAL(tdm_window_open_alert(w, "disability", &e), 0);
    CU_ASSERT_EQUAL(tdm_window_close_alert(w, "alert-4", x, 0), 0);
    CU_ASSERT_EQUAL(tdm_window_may_alert(w, "disability", x, TDM_SEVERITY_LOW), TDM_MAY_RAISE);

    /* bad input never raises */
    CU_ASSERT_EQUAL(tdm_window_may_alert(w, "", x, TDM_SEVERITY_LOW), TDM_MAY_NOT_OPEN);
    CU_ASSERT_EQUAL(tdm_window_may_alert(w, "x", x, (tdm_severity)42), TDM_MAY_NOT_OPEN);
    tdm_open_alert bad = make_alert("alert-5", d, TDM_SEVERITY_LOW);
    strcpy(bad.village_code, "34042110020");
    CU_ASSERT_EQUAL(tdm_window_open_alert(w, "x", &bad), -EINVAL);

    /* expiry drops suppressions that ended, keeps open alerts */
    CU_ASSERT_EQUAL(tdm_window_open_alert(w, "death", &e), 0);
    CU_ASSERT_EQUAL(tdm_window_expire(w, x + 1000, 400), 0);
    CU_ASSERT_EQUAL(tdm_window_may_alert(w, "death", x + 1000, TDM_SEVERITY_LOW),
                    TDM_MAY_NOT_OPEN);
    CU_ASSERT_PTR_NOT_NULL(tdm_window_open_at(w, 0, &rule));
    CU_ASSERT_STRING_EQUAL(rule, "death");
    CU_ASSERT_PTR_NULL(tdm_window_open_at(w, 1, NULL));
    CU_ASSERT_EQUAL(tdm_window_close_alert(w, "alert-4", x + 1000, 0), 0);
    CU_ASSERT_EQUAL(tdm_window_expire(w, x + 1000, 400), 0);
    CU_ASSERT_FALSE(tdm_window_is_empty(w)); /* floor set */
    CU_ASSERT_EQUAL(tdm_window_encoded_size(w), 1 + 4 + 2 + 2 + 2);
    tdm_window_free(w);
}

/* ---- bytes ---- */

static tdm_window *sample(void)
{
    tdm_window *w = tdm_window_new();
    int32_t d = ymd(2023, 9, 9);
    tdm_open_alert a = make_alert("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                                  d, TDM_SEVERITY_HIGH);
    tdm_open_alert b = make_alert("alert-b", d - 3, TDM_SEVERITY_LOW);

    CU_ASSERT_FATAL(w != NULL);
    b.overdue_warned = true;
    b.village_code[0] = '\0';
    CU_ASSERT_EQUAL(tdm_window_expire(w, d - 500, 30), 0);
    for (int k = 0; k < 40; k++)
        CU_ASSERT_EQUAL(tdm_window_add(w, OOP, d - k * 9, -50 + k * 1000), 0);
    CU_ASSERT_EQUAL(tdm_window_add(w, "temp_relief", d - 2, INT64_MIN), 0);
    CU_ASSERT_EQUAL(tdm_window_signal(w, "unemployment", TDM_DEPT_HUMAN_RESOURCES, d - 7), 0);
    CU_ASSERT_EQUAL(tdm_window_signal(w, "unemployment", TDM_DEPT_HUMAN_RESOURCES, d - 70), 0);
    CU_ASSERT_EQUAL(tdm_window_signal(w, "dibao", TDM_DEPT_CIVIL_AFFAIRS, d - 1), 0);
    a.anchor_day = d - 1;
    CU_ASSERT_EQUAL(tdm_window_open_alert(w, "medical-oop-365d", &a), 0);
    CU_ASSERT_EQUAL(tdm_window_open_alert(w, "unemployment", &b), 0);
    tdm_open_alert c = make_alert("alert-c", d - 20, TDM_SEVERITY_MEDIUM);
    CU_ASSERT_EQUAL(tdm_window_open_alert(w, "dibao", &c), 0);
    CU_ASSERT_EQUAL(tdm_window_close_alert(w, "alert-c", d - 10, 90), 0);
    tdm_open_alert e = make_alert("alert-e", d - 5, TDM_SEVERITY_LOW);
    CU_ASSERT_EQUAL(tdm_window_open_alert(w, "dibao", &e), 0); /* open and suppressed */
    return w;
}

static uint8_t *encode(const tdm_window *w, size_t *len)
{
    size_t n = tdm_window_encoded_size(w);
    uint8_t *buf = malloc(n);

    CU_ASSERT_FATAL(buf != NULL);
    CU_ASSERT_EQUAL(tdm_window_encode(w, buf, n - 1), -ENOSPC);
    CU_ASSERT_EQUAL(tdm_window_encode(w, buf, n), 0);
    *len = n;
    return buf;
}

static void test_round_trip(void)
{
    tdm_window *w = sample(), *back = NULL, *empty = tdm_window_new();
    td_error err;
    size_t len, len2;
    uint8_t *buf = encode(w, &len), *buf2;

    CU_ASSERT_EQUAL(buf[0], TDM_WINDOW_FORMAT);
    CU_ASSERT_EQUAL_FATAL(tdm_window_decode(buf, len, &back, &err), 0);
    CU_ASSERT_TRUE(tdm_window_equal(w, back));
    CU_ASSERT_FALSE(tdm_window_equal(w, empty));
    buf2 = encode(back, &len2);
    CU_ASSERT_EQUAL(len, len2);
    CU_ASSERT_EQUAL(memcmp(buf, buf2, len), 0);
    /* decoded state behaves the same */
    CU_ASSERT_EQUAL(tdm_window_may_alert(back, "dibao", ymd(2023, 9, 9), TDM_SEVERITY_LOW),
                    TDM_MAY_NOT_OPEN);
    CU_ASSERT_TRUE(tdm_window_find_open(back, "unemployment")->overdue_warned);
    CU_ASSERT_STRING_EQUAL(tdm_window_find_open(back, "unemployment")->village_code, "");
    /* a copy is equal, and independent */
    tdm_window *c = tdm_window_copy(w);
    CU_ASSERT_FATAL(c != NULL);
    CU_ASSERT_TRUE(tdm_window_equal(w, c));
    CU_ASSERT_EQUAL(tdm_window_add(c, OOP, ymd(2023, 9, 9), 1), 0);
    CU_ASSERT_FALSE(tdm_window_equal(w, c));
    tdm_window_free(c);
    /* the empty state round-trips too */
    free(buf2);
    buf2 = encode(empty, &len2);
    tdm_window *e2 = NULL;
    CU_ASSERT_EQUAL(tdm_window_decode(buf2, len2, &e2, NULL), 0);
    CU_ASSERT_TRUE(e2 && tdm_window_is_empty(e2));
    tdm_window_free(e2);
    free(buf);
    free(buf2);
    tdm_window_free(w);
    tdm_window_free(back);
    tdm_window_free(empty);
}

static void test_truncated_and_garbage_refused(void)
{
    tdm_window *w = sample(), *back = (tdm_window *)0x1;
    td_error err;
    size_t len;
    uint8_t *buf = encode(w, &len);
    uint8_t *copy = malloc(len + 1);
    unsigned seed = 12345;

    CU_ASSERT_FATAL(copy != NULL);
    /* every truncation is refused (copied so ASan sees reads past the end) */
    for (size_t n = 0; n < len; n++) {
        uint8_t *t = malloc(n ? n : 1);
        CU_ASSERT_FATAL(t != NULL);
        memcpy(t, buf, n);
        td_error_clear(&err);
        CU_ASSERT(tdm_window_decode(t, n, &back, &err) < 0);
        CU_ASSERT(err.code < 0 || n == 0);
        free(t);
    }
    CU_ASSERT_EQUAL(back, (tdm_window *)0x1); /* never written on failure */
    /* trailing byte */
    memcpy(copy, buf, len);
    copy[len] = 0;
    CU_ASSERT_EQUAL(tdm_window_decode(copy, len + 1, &back, &err), -EINVAL);
    /* another format, format 2 (before the counts of raised window alerts)
     * and format 1 (one latest signal per department, before signals per
     * rule): refused, so the store rebuilds the state */
    copy[0] = TDM_WINDOW_FORMAT + 1;
    CU_ASSERT_EQUAL(tdm_window_decode(copy, len, &back, &err), -ENOTSUP);
    CU_ASSERT_EQUAL(TDM_WINDOW_FORMAT, 3);
    copy[0] = 2;
    CU_ASSERT_EQUAL(tdm_window_decode(copy, len, &back, &err), -ENOTSUP);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "format 2"));
    {
        static const uint8_t v1[] = {1,    0,    0,    0,    0x80, 0,    0, 0,
                                     0x80, 0,    0,    0,    0x80, 0,    0, 0,
                                     0x80, 0,    0,    0,    0};
        CU_ASSERT_EQUAL(tdm_window_decode(v1, sizeof(v1), &back, &err), -ENOTSUP);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "format 1"));
    }
    /* a signal day at or below the floor: the first signal rule ("dibao",
     * 5 bytes) has its day count at 1 + 4 + 2 + 1 + 5 + 1, its day after */
    memcpy(copy, buf, len);
    CU_ASSERT_EQUAL(copy[7], 5);
    memcpy(copy + 1 + 4 + 2 + 1 + 5 + 1 + 4, copy + 1, 4);
    CU_ASSERT_EQUAL(tdm_window_decode(copy, len, &back, &err), -EINVAL);
    /* random byte flips: refused or decoded into a valid state, never a crash */
    for (int round = 0; round < 20000; round++) {
        memcpy(copy, buf, len);
        int flips = 1 + (int)((seed = seed * 1103515245u + 12345u) >> 16) % 4;
        for (int f = 0; f < flips; f++) {
            seed = seed * 1103515245u + 12345u;
            size_t pos = (seed >> 8) % len;
            seed = seed * 1103515245u + 12345u;
            copy[pos] = (uint8_t)(seed >> 16);
        }
        tdm_window *x = NULL;
        if (tdm_window_decode(copy, len, &x, NULL) == 0) {
            /* whatever decoded re-encodes to the same bytes */
            size_t l2;
            uint8_t *b2 = encode(x, &l2);
            CU_ASSERT_EQUAL(l2, len);
            CU_ASSERT(l2 == len && memcmp(b2, copy, len) == 0);
            free(b2);
            tdm_window_free(x);
        }
    }
    /* pure garbage */
    for (int round = 0; round < 2000; round++) {
        size_t n = (size_t)(round % 200);
        for (size_t i = 0; i < n && i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            copy[i] = (uint8_t)(seed >> 16);
        }
        copy[0] = TDM_WINDOW_FORMAT;
        tdm_window *x = NULL;
        if (tdm_window_decode(copy, n < len ? n : len, &x, NULL) == 0)
            tdm_window_free(x);
    }
    CU_ASSERT_EQUAL(tdm_window_decode(NULL, 0, &back, NULL), -EINVAL);
    free(copy);
    free(buf);
    tdm_window_free(w);
}

/* A person first seen off the roster joins a household: his spending and
 * signals count in the household's windows; his alerts stay with him;
 * days the household has expired are dropped; all or nothing. */
static void test_absorb(void)
{
    tdm_window *hh = tdm_window_new(), *person = tdm_window_new();
    int32_t d = ymd(2023, 8, 1);
    int64_t sum = 0;
    tdm_open_alert oa;

    CU_ASSERT_FATAL(hh != NULL && person != NULL);
    CU_ASSERT_EQUAL(tdm_window_add(hh, "medical_insurance.out_of_pocket_fen", d, 300000), 0);
    CU_ASSERT_EQUAL(tdm_window_add(person, "medical_insurance.out_of_pocket_fen", d, 150000), 0);
    CU_ASSERT_EQUAL(tdm_window_add(person, "medical_insurance.out_of_pocket_fen", d - 30, 60000), 0);
    CU_ASSERT_EQUAL(tdm_window_add(person, "medical_insurance.out_of_pocket_fen", d - 400, 999), 0);
    CU_ASSERT_EQUAL(tdm_window_add(person, "civil_affairs.amount_fen", d - 10, 120000), 0);
    CU_ASSERT_EQUAL(tdm_window_signal(person, "dibao", TDM_DEPT_CIVIL_AFFAIRS, d - 10), 0);
    CU_ASSERT_EQUAL(tdm_window_signal(person, "dibao", TDM_DEPT_CIVIL_AFFAIRS, d - 400), 0);
    memset(&oa, 0, sizeof(oa));
    snprintf(oa.alert_id, sizeof(oa.alert_id), "A-person");
    oa.raised_day = d - 10;
    oa.severity = TDM_SEVERITY_MEDIUM;
    oa.visit_due_day = d - 8;
    oa.procedure_due_day = d + 10;
    CU_ASSERT_EQUAL_FATAL(tdm_window_open_alert(person, "dibao-tekun", &oa), 0);
    /* the household forgot everything up to d - 365 */
    CU_ASSERT_EQUAL(tdm_window_expire(hh, d, 365), 0);

    CU_ASSERT_EQUAL(tdm_window_absorb(hh, hh), -EINVAL);
    CU_ASSERT_EQUAL_FATAL(tdm_window_absorb(hh, person), 1);
    CU_ASSERT_EQUAL(tdm_window_sum(hh, "medical_insurance.out_of_pocket_fen", d, 365, &sum), 0);
    CU_ASSERT_EQUAL(sum, 300000 + 150000 + 60000); /* the d - 400 bill is past the floor */
    CU_ASSERT_EQUAL(tdm_window_bucket_count(hh, "medical_insurance.out_of_pocket_fen"), 2);
    CU_ASSERT_EQUAL(tdm_window_bucket_count(hh, "civil_affairs.amount_fen"), 1);
    CU_ASSERT_EQUAL(tdm_window_departments_within(hh, d, 90), 1);
    CU_ASSERT_EQUAL(tdm_window_signal_days(hh, "dibao", NULL), 1); /* d - 400: past the floor */
    CU_ASSERT_PTR_NULL(tdm_window_find_open(hh, "dibao-tekun"));
    /* the person keeps the alert (outcomes find it there), nothing else */
    CU_ASSERT_PTR_NOT_NULL(tdm_window_find_open(person, "dibao-tekun"));
    CU_ASSERT_EQUAL(tdm_window_bucket_count(person, "medical_insurance.out_of_pocket_fen"), 0);
    CU_ASSERT_EQUAL(tdm_window_departments_within(person, d, 90), 0);
    CU_ASSERT_FALSE(tdm_window_is_empty(person));
    /* a second absorb adds nothing */
    CU_ASSERT_EQUAL(tdm_window_absorb(hh, person), 0);
    CU_ASSERT_EQUAL(tdm_window_absorb(person, hh) >= 0, 1); /* back: allowed */
    CU_ASSERT_EQUAL(tdm_window_absorb(hh, person), 1);
    CU_ASSERT_EQUAL(tdm_window_sum(hh, "medical_insurance.out_of_pocket_fen", d, 365, &sum), 0);
    CU_ASSERT_EQUAL(sum, 510000);

    /* all or nothing: an overflow leaves both as they were */
    {
        tdm_window *a = tdm_window_new(), *b = tdm_window_new();
        int64_t sa = 0;
        CU_ASSERT_FATAL(a != NULL && b != NULL);
        CU_ASSERT_EQUAL(tdm_window_add(a, "x.y", d, INT64_MAX - 5), 0);
        CU_ASSERT_EQUAL(tdm_window_add(b, "a.b", d, 7), 0);
        CU_ASSERT_EQUAL(tdm_window_add(b, "x.y", d, 10), 0);
        CU_ASSERT_EQUAL(tdm_window_absorb(a, b), -EOVERFLOW);
        CU_ASSERT_EQUAL(tdm_window_bucket_count(a, "a.b"), 0);
        CU_ASSERT_EQUAL(tdm_window_bucket_count(b, "x.y"), 1);
        CU_ASSERT_EQUAL(tdm_window_sum(a, "x.y", d, 1, &sa), 0);
        CU_ASSERT_EQUAL(sa, INT64_MAX - 5);
        tdm_window_free(a);
        tdm_window_free(b);
    }
    tdm_window_free(hh);
    tdm_window_free(person);
}

/* A window is spent when nothing but its floor is left; tdm_window_spent_day
 * says on which day expiry leaves it so if nothing comes: the last bucket
 * or signal plus keep_days, a suppression's end plus keep_days - 1, never
 * while an alert is open. tuodi-matchd deletes a spent state and sweeps the
 * untouched ones on that day (docs/matchd-design.md, "Size of the state"). */
static void test_spent(void)
{
    const int32_t d = 20000;
    tdm_window *w = tdm_window_new();
    tdm_open_alert a = make_alert("alert-s", d, TDM_SEVERITY_MEDIUM);

    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    CU_ASSERT_TRUE(tdm_window_is_spent(w));
    CU_ASSERT_EQUAL(tdm_window_spent_day(w, 400), INT32_MIN);
    CU_ASSERT_EQUAL(tdm_window_add(w, "medical_insurance.out_of_pocket_fen", d, 100), 0);
    CU_ASSERT_EQUAL(tdm_window_add(w, "medical_insurance.out_of_pocket_fen", d + 10, 100), 0);
    CU_ASSERT_EQUAL(tdm_window_signal(w, "med", TDM_DEPT_MEDICAL_INSURANCE, d + 20), 0);
    CU_ASSERT_FALSE(tdm_window_is_spent(w));
    CU_ASSERT_EQUAL(tdm_window_spent_day(w, 400), d + 420);
    /* the day before, something is left; on the day, nothing but the floor */
    tdm_window *c = tdm_window_copy(w);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(tdm_window_expire(c, d + 419, 400), 0);
    CU_ASSERT_FALSE(tdm_window_is_spent(c));
    CU_ASSERT_EQUAL(tdm_window_spent_day(c, 400), d + 420); /* unchanged by expiry */
    CU_ASSERT_EQUAL(tdm_window_expire(c, d + 420, 400), 0);
    CU_ASSERT_TRUE(tdm_window_is_spent(c));
    CU_ASSERT_FALSE(tdm_window_is_empty(c)); /* the floor: not empty, but spent */
    tdm_window_free(c);

    /* an open alert keeps it forever; closed with a dismissal, the
     * suppression holds it until the suppression ends */
    CU_ASSERT_EQUAL(tdm_window_open_alert(w, "dibao-tekun", &a), 0);
    CU_ASSERT_EQUAL(tdm_window_spent_day(w, 400), INT32_MAX);
    CU_ASSERT_EQUAL(tdm_window_close_alert(w, "alert-s", d + 30, 1000), 0);
    CU_ASSERT_EQUAL(tdm_window_spent_day(w, 400), d + 30 + 1000 + 400 - 1);
    c = tdm_window_copy(w);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(tdm_window_expire(c, d + 1428, 400), 0);
    CU_ASSERT_FALSE(tdm_window_is_spent(c));
    CU_ASSERT_EQUAL(tdm_window_expire(c, d + 1429, 400), 0);
    CU_ASSERT_TRUE(tdm_window_is_spent(c));
    tdm_window_free(c);
    /* closed without a suppression: the rule goes with the next expiry */
    tdm_window_free(w);
    w = tdm_window_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    CU_ASSERT_EQUAL(tdm_window_add(w, "x", d, 5), 0);
    CU_ASSERT_EQUAL(tdm_window_open_alert(w, "death", &a), 0);
    CU_ASSERT_EQUAL(tdm_window_close_alert(w, "alert-s", d + 1, 0), 0);
    CU_ASSERT_EQUAL(tdm_window_spent_day(w, 400), d + 400);
    CU_ASSERT_EQUAL(tdm_window_expire(w, d + 400, 400), 0);
    CU_ASSERT_TRUE(tdm_window_is_spent(w));
    CU_ASSERT_EQUAL(tdm_window_spent_day(w, 0), INT32_MAX);
    tdm_window_free(w);
}

/* ---- the windows a record changes ---- */

typedef struct seen {
    int32_t end[64];
    int64_t sum[64];
    size_t n;
    int64_t stop_at;                /* stop at the first sum >= this */
} seen;

static bool see(void *arg, int32_t end, int64_t s)
{
    seen *v = arg;
    CU_ASSERT_FATAL(v->n < 64);
    v->end[v->n] = end;
    v->sum[v->n++] = s;
    return s >= v->stop_at;
}

static void test_each_sum(void)
{
    tdm_window *w = tdm_window_new();
    seen v = {.stop_at = INT64_MAX};

    CU_ASSERT_FATAL(w != NULL);
    CU_ASSERT_EQUAL(tdm_window_add(w, OOP, 100, 3000), 0);
    CU_ASSERT_EQUAL(tdm_window_add(w, OOP, 110, 2000), 0);
    CU_ASSERT_EQUAL(tdm_window_add(w, OOP, 120, 1000), 0);
    /* 15-day windows holding day 95: ends 95 and the bucket days to 109 */
    CU_ASSERT_EQUAL(tdm_window_each_sum(w, OOP, 95, 15, see, &v), 0);
    CU_ASSERT_EQUAL(v.n, 2);
    CU_ASSERT(v.end[0] == 95 && v.sum[0] == 0);
    CU_ASSERT(v.end[1] == 100 && v.sum[1] == 3000);
    /* holding day 106: 106 (3000), 110 (5000), 120 (3000: day 100 left) */
    v.n = 0;
    CU_ASSERT_EQUAL(tdm_window_each_sum(w, OOP, 106, 15, see, &v), 0);
    CU_ASSERT_EQUAL(v.n, 3);
    CU_ASSERT(v.end[0] == 106 && v.sum[0] == 3000);
    CU_ASSERT(v.end[1] == 110 && v.sum[1] == 5000);
    CU_ASSERT(v.end[2] == 120 && v.sum[2] == 3000);
    /* the visitor stops it: the first window of 5000 or more */
    v.n = 0;
    v.stop_at = 5000;
    CU_ASSERT_EQUAL(tdm_window_each_sum(w, OOP, 100, 15, see, &v), 0);
    CU_ASSERT_EQUAL(v.n, 2);
    CU_ASSERT(v.end[1] == 110 && v.sum[1] == 5000);
    /* an unknown series: the window ending on day, 0 */
    v.n = 0;
    CU_ASSERT_EQUAL(tdm_window_each_sum(w, "temp_relief", 100, 15, see, &v), 0);
    CU_ASSERT(v.n == 1 && v.end[0] == 100 && v.sum[0] == 0);
    CU_ASSERT_EQUAL(tdm_window_each_sum(w, OOP, 100, 0, see, &v), -EINVAL);
    CU_ASSERT_EQUAL(tdm_window_each_sum(w, OOP, 100, 15, NULL, &v), -EINVAL);
    CU_ASSERT_EQUAL(tdm_window_each_sum(w, "", 100, 15, see, &v), -EINVAL);
    /* after expiry to floor 95: windows reaching into day 95 or before
     * (end - 15 < 95) are skipped, the later ones are exact */
    v.n = 0;
    v.stop_at = INT64_MAX;
    CU_ASSERT_EQUAL(tdm_window_expire(w, 110, 15), 0);
    CU_ASSERT_EQUAL(tdm_window_floor(w), 95);
    CU_ASSERT_EQUAL(tdm_window_each_sum(w, OOP, 100, 15, see, &v), 0);
    CU_ASSERT(v.n == 1 && v.end[0] == 110 && v.sum[0] == 5000);
    tdm_window_free(w);
}

/* Against tdm_window_sum on random series: every end the helper gives is
 * day or a bucket day in (day, day + days - 1], ascending, with the sum
 * tdm_window_sum gives, and every such end is given. */
static void test_each_sum_random(void)
{
    unsigned seed = 4242;
    for (int round = 0; round < 300; round++) {
        tdm_window *w = tdm_window_new();
        CU_ASSERT_FATAL(w != NULL);
        int nb = (int)((seed = seed * 1103515245u + 12345u) >> 16) % 40;
        for (int k = 0; k < nb; k++) {
            seed = seed * 1103515245u + 12345u;
            int32_t day = 1000 + (int32_t)((seed >> 16) % 200);
            seed = seed * 1103515245u + 12345u;
            CU_ASSERT_EQUAL(tdm_window_add(w, OOP, day, 1 + (int64_t)((seed >> 16) % 5000)), 0);
        }
        seed = seed * 1103515245u + 12345u;
        int32_t day = 990 + (int32_t)((seed >> 16) % 220);
        seed = seed * 1103515245u + 12345u;
        int days = 1 + (int)((seed >> 16) % 90);
        seen v = {.stop_at = INT64_MAX};
        CU_ASSERT_EQUAL(tdm_window_each_sum(w, OOP, day, days, see, &v), 0);
        size_t i = 0;
        for (int32_t e = day; e <= day + days - 1; e++) {
            int64_t s = -1;
            bool bucket_day = tdm_window_sum(w, OOP, e, 1, &s) == 0 && s != 0;
            if (e != day && !bucket_day)
                continue;
            CU_ASSERT_FATAL(i < v.n);
            CU_ASSERT_EQUAL(v.end[i], e);
            CU_ASSERT_EQUAL(v.sum[i], sum(w, e, days));
            i++;
        }
        CU_ASSERT_EQUAL(i, v.n);
        tdm_window_free(w);
    }
}

/* ---- counts of raised window alerts ---- */

static void test_raised_count(void)
{
    const int32_t d = 20000;
    tdm_window *w = tdm_window_new(), *back = NULL;
    tdm_open_alert a = make_alert("alert-w", d, TDM_SEVERITY_MEDIUM);
    td_error err;
    size_t len;

    CU_ASSERT_FATAL(w != NULL);
    CU_ASSERT_EQUAL(tdm_window_raised(w, "medical-oop-365d"), 0);
    CU_ASSERT_EQUAL(tdm_window_open_alert(w, "medical-oop-365d", &a), 0);
    CU_ASSERT_EQUAL(tdm_window_count_raised(w, "medical-oop-365d", d), 0);
    CU_ASSERT_EQUAL(tdm_window_raised(w, "medical-oop-365d"), 1);
    CU_ASSERT_EQUAL(tdm_window_count_raised(w, "", d), -EINVAL);
    /* the count outlives the alert: a re-raise on the same anchor day gets
     * another id (tdm_alert_id's seq) */
    CU_ASSERT_EQUAL(tdm_window_close_alert(w, "alert-w", d + 5, 0), 0);
    CU_ASSERT_EQUAL(tdm_window_raised(w, "medical-oop-365d"), 1);
    CU_ASSERT_FALSE(tdm_window_is_spent(w));
    CU_ASSERT_EQUAL(tdm_window_count_raised(w, "medical-oop-365d", d - 3), 0);
    CU_ASSERT_EQUAL(tdm_window_raised(w, "medical-oop-365d"), 2);
    /* it is part of the state: equal, bytes, copies */
    uint8_t *buf = encode(w, &len);
    CU_ASSERT_EQUAL_FATAL(tdm_window_decode(buf, len, &back, &err), 0);
    CU_ASSERT_TRUE(tdm_window_equal(w, back));
    CU_ASSERT_EQUAL(tdm_window_raised(back, "medical-oop-365d"), 2);
    CU_ASSERT_EQUAL(tdm_window_count_raised(back, "medical-oop-365d", d), 0);
    CU_ASSERT_FALSE(tdm_window_equal(w, back));
    /* kept until the floor reaches the latest anchor (d), then forgotten:
     * every later crossing is after it */
    CU_ASSERT_EQUAL(tdm_window_spent_day(w, 400), d + 400);
    CU_ASSERT_EQUAL(tdm_window_expire(w, d + 399, 400), 0);
    CU_ASSERT_EQUAL(tdm_window_raised(w, "medical-oop-365d"), 2);
    CU_ASSERT_EQUAL(tdm_window_expire(w, d + 400, 400), 0);
    CU_ASSERT_EQUAL(tdm_window_raised(w, "medical-oop-365d"), 0);
    CU_ASSERT_TRUE(tdm_window_is_spent(w));
    CU_ASSERT_EQUAL(tdm_window_count_raised(w, "medical-oop-365d", d), -ERANGE);
    /* while an alert of the rule is open the count stays, whatever the floor */
    CU_ASSERT_EQUAL(tdm_window_open_alert(back, "medical-oop-365d", &a), 0);
    CU_ASSERT_EQUAL(tdm_window_expire(back, d + 1000, 400), 0);
    CU_ASSERT_EQUAL(tdm_window_raised(back, "medical-oop-365d"), 3);
    CU_ASSERT_EQUAL(tdm_window_close_alert(back, "alert-w", d + 1001, 0), 0);
    CU_ASSERT_EQUAL(tdm_window_raised(back, "medical-oop-365d"), 0);
    CU_ASSERT_TRUE(tdm_window_is_spent(back));
    free(buf);
    tdm_window_free(w);
    tdm_window_free(back);
}

static void add_suites(void)
{
    td_test_suite("amounts", NULL, NULL);
    TD_TEST(test_sum_boundary_365);
    TD_TEST(test_sum_out_of_order);
    TD_TEST(test_many_small_amounts);
    TD_TEST(test_expiry_keeps_sums_exact);
    TD_TEST(test_overflow_refused);
    TD_TEST(test_each_sum);
    TD_TEST(test_each_sum_random);
    td_test_suite("departments", NULL, NULL);
    TD_TEST(test_departments_within_90);
    TD_TEST(test_signals_every_day);
    TD_TEST(test_escalate);
    td_test_suite("absorb", NULL, NULL);
    TD_TEST(test_absorb);
    td_test_suite("suppression", NULL, NULL);
    TD_TEST(test_suppression);
    td_test_suite("bytes", NULL, NULL);
    TD_TEST(test_round_trip);
    TD_TEST(test_spent);
    TD_TEST(test_raised_count);
    TD_TEST(test_truncated_and_garbage_refused);
}

TD_TEST_MAIN(add_suites)
