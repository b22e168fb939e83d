/* Fuzz target for tuodi-matchd's holiday file (daemon/tdm_calendar.c).
 *
 * Input: the holiday file (CSV that ops edit each November).
 * Properties, beyond no crash, leak or undefined behaviour:
 *   - a refused file gives -EINVAL (or -ENOMEM) and no object, and every
 *     line of the message starts with the file's name (FILE:LINE:COL, or the
 *     count of the rest), at most TDM_HOLIDAYS_MAX_ERRORS + 1 lines;
 *   - an accepted file covers first..last years, each with a non-empty
 *     source; its holidays are weekdays and its workdays weekend days, each
 *     list strictly ascending, no date in both, every date in a covered
 *     year; under its calendar a holiday is no working day and a workday
 *     is one, and n working days after any listed date is a working day.
 * corpus/holidays/ holds seeds: deploy/data/china-holidays.csv and small
 * files (tests/fuzz/gen_corpus.py).
 */
#include "fuzz_common.h"
#include "tdm_calendar.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T "fuzz_holidays"
#define NAME "fz-holidays.csv"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int year_of(int32_t day)
{
    int y, m, d;

    td_date_to_ymd(day, &y, &m, &d);
    return y;
}

FUZZ_UNTRACED static void check_list(const tdm_holidays *h, const tdm_calendar *cal,
                                     const int32_t *a, size_t n, bool workdays)
{
    for (size_t i = 0; i < n; i++) {
        int y = year_of(a[i]);
        if (i > 0 && a[i] <= a[i - 1])
            fuzz_fail(T, "the %s are not strictly ascending at %zu",
                      workdays ? "workdays" : "holidays", i);
        if ((td_date_weekday(a[i]) >= 5) != workdays)
            fuzz_fail(T, "day %d is a %s on a %s", (int)a[i], workdays ? "workday" : "holiday",
                      workdays ? "weekday" : "weekend");
        if (y < tdm_holidays_first_year(h) || y > tdm_holidays_last_year(h))
            fuzz_fail(T, "day %d is outside the covered years", (int)a[i]);
        if (tdm_calendar_is_working_day(cal, a[i]) != workdays)
            fuzz_fail(T, "day %d is not what its row says under the calendar", (int)a[i]);
        for (int k = 0; k <= 25; k += 5) {
            int32_t d = tdm_calendar_add_working_days(cal, a[i], k);
            if (d < a[i] || (k > 0 && !tdm_calendar_is_working_day(cal, d)))
                fuzz_fail(T, "%d working days after day %d is day %d", k, (int)a[i], (int)d);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tdm_holidays *h = NULL;
    td_error err = {0};
    tdm_calendar cal;
    int rc = tdm_holidays_parse(NAME, (const char *)data, size, &h, &err);

    if (rc < 0) {
        size_t lines = 0;
        if (h)
            fuzz_fail(T, "refused (%d) with an object", rc);
        if (rc != -EINVAL && rc != -ENOMEM)
            fuzz_fail(T, "refused with %d", rc);
        for (const char *l = rc == -EINVAL ? err.msg : NULL; l;
             l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
            lines++;
            if (strncmp(l, NAME ":", strlen(NAME ":")) != 0)
                fuzz_fail(T, "a line of the message does not start with the file: %s", l);
        }
        if (lines > TDM_HOLIDAYS_MAX_ERRORS + 1)
            fuzz_fail(T, "%zu lines of problems", lines);
        return 0;
    }
    if (!h)
        fuzz_fail(T, "accepted without an object");
    if (tdm_holidays_first_year(h) < 1000 || tdm_holidays_last_year(h) < tdm_holidays_first_year(h))
        fuzz_fail(T, "covers %d..%d", tdm_holidays_first_year(h), tdm_holidays_last_year(h));
    for (int y = tdm_holidays_first_year(h); y <= tdm_holidays_last_year(h); y++)
        if (!tdm_holidays_source(h, y) || !tdm_holidays_source(h, y)[0])
            fuzz_fail(T, "year %d has no source", y);
    tdm_holidays_calendar(h, &cal);
    check_list(h, &cal, cal.holidays, cal.n_holidays, false);
    check_list(h, &cal, cal.workdays, cal.n_workdays, true);
    for (size_t i = 0, j = 0; i < cal.n_holidays && j < cal.n_workdays;) {
        if (cal.holidays[i] == cal.workdays[j])
            fuzz_fail(T, "day %d is both a holiday and a workday", (int)cal.holidays[i]);
        cal.holidays[i] < cal.workdays[j] ? i++ : j++;
    }
    tdm_holidays_free(h);
    return 0;
}
