/* tdm_metrics: a batch's counts reach the counters only when it commits
 * (an aborted batch counts nothing), and open and overdue alerts by county
 * kept by difference over the start's count; the same for suspects. */
#include "td_test.h"
#include "tdm_metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const inputs[] = {"roster", "clock", "medical_insurance"};

static tdm_open_alert alert(const char *id, const char *village, bool overdue)
{
    tdm_open_alert a;
    memset(&a, 0, sizeof(a));
    strcpy(a.alert_id, id);
    a.raised_day = 19000;
    a.severity = TDM_SEVERITY_MEDIUM;
    a.visit_due_day = 19002;
    a.procedure_due_day = 19028;
    a.overdue_warned = overdue;
    strcpy(a.village_code, village);
    return a;
}

static void test_batch(void)
{
    td_metrics *reg = td_metrics_new("tuodi_matchd");
    tdm_metrics *s = tdm_metrics_new(reg, "g", "1.0", inputs, 3);

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(td_metric_value(s->records, "medical_insurance"), 0);
    CU_ASSERT_EQUAL(td_metric_value(s->dead_letters, "roster"), 0);
    CU_ASSERT(isnan(td_metric_value(s->dead_letters, "clock"))); /* no DLQ */
    CU_ASSERT_EQUAL(td_metric_value(s->info, "g", "1.0"), 1);

    /* a batch that is dropped (aborted, revoked) counts nothing */
    tdm_metrics_record(s, 2);
    tdm_metrics_dead_letter(s, 2);
    tdm_metrics_outcome(s, true);
    CU_ASSERT_EQUAL(tdm_metrics_alert(s, "dibao-tekun", "340421", "alert"), 0);
    tdm_metrics_drop(s);
    tdm_metrics_flush(s);
    CU_ASSERT_EQUAL(td_metric_value(s->records, "medical_insurance"), 0);
    CU_ASSERT_EQUAL(td_metric_value(s->dead_letters, "medical_insurance"), 0);
    CU_ASSERT_EQUAL(td_metric_value(s->outcomes, "accepted"), 0);
    CU_ASSERT(isnan(td_metric_value(s->alerts_raised, "dibao-tekun", "340421", "alert")));

    /* read again and committed: counted once */
    tdm_metrics_record(s, 2);
    tdm_metrics_record(s, 2);
    tdm_metrics_record(s, 0);
    tdm_metrics_dead_letter(s, 2);
    tdm_metrics_outcome(s, true);
    tdm_metrics_outcome(s, false);
    CU_ASSERT_EQUAL(tdm_metrics_alert(s, "dibao-tekun", "340421", "alert"), 0);
    CU_ASSERT_EQUAL(tdm_metrics_alert(s, "dibao-tekun", "", "alert"), 0);
    CU_ASSERT_EQUAL(tdm_metrics_alert(s, "dibao-tekun", "340421", "closed"), 0);
    tdm_metrics_flush(s);
    CU_ASSERT_EQUAL(td_metric_value(s->records, "medical_insurance"), 2);
    CU_ASSERT_EQUAL(td_metric_value(s->records, "roster"), 1);
    CU_ASSERT_EQUAL(td_metric_value(s->dead_letters, "medical_insurance"), 1);
    CU_ASSERT_EQUAL(td_metric_value(s->outcomes, "accepted"), 1);
    CU_ASSERT_EQUAL(td_metric_value(s->outcomes, "dead_lettered"), 1);
    CU_ASSERT_EQUAL(td_metric_value(s->alerts_raised, "dibao-tekun", "340421", "alert"), 1);
    CU_ASSERT_EQUAL(td_metric_value(s->alerts_raised, "dibao-tekun", "unrouted", "alert"), 1);
    CU_ASSERT_EQUAL(td_metric_value(s->alerts_raised, "dibao-tekun", "340421", "closed"), 1);
    /* flushed: a second flush adds nothing */
    tdm_metrics_flush(s);
    CU_ASSERT_EQUAL(td_metric_value(s->records, "medical_insurance"), 2);
    tdm_metrics_free(s);
    td_metrics_free(reg);
}

static void test_open_alerts(void)
{
    td_metrics *reg = td_metrics_new("tuodi_matchd");
    tdm_metrics *s = tdm_metrics_new(reg, "g", "1.0", inputs, 3);
    tdm_window *w = tdm_window_new(), *w2 = tdm_window_new();
    tdm_open_alert a = alert("a-1", "340421100201", false);
    tdm_open_alert b = alert("a-2", "340422100201", true);

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w2);
    /* at the start: the stored states counted once */
    CU_ASSERT_EQUAL(tdm_window_open_alert(w, "medical-oop-365d", &a), 0);
    CU_ASSERT_EQUAL(tdm_window_open_alert(w, "dibao-tekun", &b), 0);
    tdm_metrics_window(s, w, TDM_METRICS_BASE);
    CU_ASSERT_EQUAL(td_metric_value(s->alerts_open, "340421"), 1);
    CU_ASSERT_EQUAL(td_metric_value(s->alerts_open, "340422"), 1);
    CU_ASSERT_EQUAL(td_metric_value(s->alerts_overdue, "340422"), 1);
    CU_ASSERT_EQUAL(td_metric_value(s->alerts_overdue, "340421"), 0);

    /* a batch loads w, closes a-2, opens an unrouted one in a new state:
     * nothing moves until it commits; a dropped batch changes nothing */
    tdm_metrics_window(s, w, TDM_METRICS_LOADED);
    CU_ASSERT_EQUAL(tdm_window_close_alert(w, "a-2", 19003, 0), 0);
    {
        tdm_open_alert c = alert("a-3", "", false);
        CU_ASSERT_EQUAL(tdm_window_open_alert(w2, "dibao-tekun", &c), 0);
    }
    tdm_metrics_window(s, w, TDM_METRICS_STORED);
    tdm_metrics_window(s, w2, TDM_METRICS_STORED);
    CU_ASSERT_EQUAL(td_metric_value(s->alerts_open, "340422"), 1);
    tdm_metrics_drop(s);
    tdm_metrics_flush(s);
    CU_ASSERT_EQUAL(td_metric_value(s->alerts_open, "340422"), 1);
    CU_ASSERT(isnan(td_metric_value(s->alerts_open, "unrouted")));

    /* the same batch again, committed */
    tdm_metrics_window(s, w, TDM_METRICS_LOADED); /* (w as loaded: a-2 gone already) */
    tdm_metrics_window(s, w, TDM_METRICS_STORED);
    tdm_metrics_window(s, w2, TDM_METRICS_STORED);
    tdm_metrics_flush(s);
    /* the difference of w is 0 here (loaded as stored); a-2's close shows
     * when a batch loads the state with it open: */
    CU_ASSERT_EQUAL(td_metric_value(s->alerts_open, "unrouted"), 1);
    {
        tdm_window *x = tdm_window_new();
        CU_ASSERT_EQUAL(tdm_window_open_alert(x, "dibao-tekun", &b), 0);
        tdm_metrics_window(s, x, TDM_METRICS_LOADED); /* as stored: a-2 open */
        CU_ASSERT_EQUAL(tdm_window_close_alert(x, "a-2", 19003, 0), 0);
        tdm_metrics_window(s, x, TDM_METRICS_STORED);
        tdm_metrics_flush(s);
        tdm_window_free(x);
    }
    CU_ASSERT_EQUAL(td_metric_value(s->alerts_open, "340422"), 0);
    CU_ASSERT_EQUAL(td_metric_value(s->alerts_overdue, "340422"), 0);
    CU_ASSERT_EQUAL(td_metric_value(s->alerts_open, "340421"), 1);
    tdm_window_free(w);
    tdm_window_free(w2);
    tdm_metrics_free(s);
    td_metrics_free(reg);
}

/* Suspect messages by indicator, county and kind, and the open suspects
 * by difference, counted at the commit like the alerts. */
static void test_suspects(void)
{
    td_metrics *reg = td_metrics_new("tuodi_matchd");
    tdm_metrics *s = tdm_metrics_new(reg, "g", "1.0", inputs, 3);

    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(td_metric_value(s->suspects_open), 0);
    tdm_metrics_suspects_open(s, 3, TDM_METRICS_BASE); /* the start's count */
    CU_ASSERT_EQUAL(td_metric_value(s->suspects_open), 3);

    /* dropped: nothing */
    CU_ASSERT_EQUAL(tdm_metrics_suspect(s, "death-still-listed", "340421", "raised"), 0);
    tdm_metrics_suspects_open(s, 1, TDM_METRICS_LOADED);
    tdm_metrics_suspects_open(s, 2, TDM_METRICS_STORED);
    tdm_metrics_drop(s);
    tdm_metrics_flush(s);
    CU_ASSERT(isnan(td_metric_value(s->suspects, "death-still-listed", "340421", "raised")));
    CU_ASSERT_EQUAL(td_metric_value(s->suspects_open), 3);

    /* committed: a state with 1 open now has 2, another with 2 has 0 */
    CU_ASSERT_EQUAL(tdm_metrics_suspect(s, "death-still-listed", "340421", "raised"), 0);
    CU_ASSERT_EQUAL(tdm_metrics_suspect(s, "duplicate-person", "", "resolved"), 0);
    CU_ASSERT_EQUAL(tdm_metrics_suspect(s, "duplicate-person", NULL, "resolved"), 0);
    CU_ASSERT_EQUAL(tdm_metrics_suspect(s, "dibao-not-recorded", "340422", "closed"), 0);
    tdm_metrics_suspects_open(s, 1, TDM_METRICS_LOADED);
    tdm_metrics_suspects_open(s, 2, TDM_METRICS_STORED);
    tdm_metrics_suspects_open(s, 2, TDM_METRICS_LOADED);
    tdm_metrics_suspects_open(s, 0, TDM_METRICS_STORED);
    tdm_metrics_flush(s);
    CU_ASSERT_EQUAL(td_metric_value(s->suspects, "death-still-listed", "340421", "raised"), 1);
    CU_ASSERT_EQUAL(td_metric_value(s->suspects, "duplicate-person", "unrouted", "resolved"), 2);
    CU_ASSERT_EQUAL(td_metric_value(s->suspects, "dibao-not-recorded", "340422", "closed"), 1);
    CU_ASSERT_EQUAL(td_metric_value(s->suspects_open), 2);
    tdm_metrics_free(s);
    td_metrics_free(reg);
}

/* No http: section: every call does nothing. */
static void test_null(void)
{
    tdm_metrics_record(NULL, 0);
    tdm_metrics_dead_letter(NULL, 0);
    tdm_metrics_outcome(NULL, true);
    CU_ASSERT_EQUAL(tdm_metrics_alert(NULL, "r", "340421", "alert"), 0);
    tdm_metrics_window(NULL, NULL, TDM_METRICS_BASE);
    CU_ASSERT_EQUAL(tdm_metrics_suspect(NULL, "r", "340421", "raised"), 0);
    tdm_metrics_suspects_open(NULL, 1, TDM_METRICS_BASE);
    tdm_metrics_flush(NULL);
    tdm_metrics_drop(NULL);
    CU_ASSERT_PTR_NULL(tdm_metrics_free(NULL));
}

static void add_suites(void)
{
    td_test_suite("tdm_metrics", NULL, NULL);
    TD_TEST(test_batch);
    TD_TEST(test_open_alerts);
    TD_TEST(test_suspects);
    TD_TEST(test_null);
}

TD_TEST_MAIN(add_suites)
