/* Fuzz target for dates (lib/td_date.c).
 *
 * Input: a date as a department writes it ("2023-05-01", "2023/5/1",
 * "20230501", "2023年5月1日", with a time part or spaces). When at least 6
 * bytes, the first four are also a day number (days since 1970-01-01,
 * brought into years 1..9999) and the fifth and sixth a count of working
 * days and a second day's offset.
 * Properties, beyond no crash, leak or undefined behaviour:
 *   - a parsed date lies in years 1..9999, and formats ("YYYY-MM-DD") to a
 *     text that parses back to it; its year, month and day give it back;
 *   - every day of years 1..9999 round-trips through td_date_to_ymd /
 *     td_date_from_ymd, through td_date_format / td_date_parse, and through
 *     the other spellings ("Y/M/D", "YYYYMMDD", "Y年M月D日", "Y.MM.DD
 *     08:30:00") when the year has four digits;
 *   - weekdays go 0..6 and follow each other; n working days later is a
 *     weekday (n > 0) with exactly n weekdays in between;
 *   - an age is never negative from an earlier birth, and is 0 on the day.
 * corpus/date/ holds seeds (tests/fuzz/gen_corpus.py).
 */
#include "fuzz_common.h"
#include "td_date.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define T "fuzz_date"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int32_t first_day, last_day;

static void must_parse(const char *text, int32_t want)
{
    int32_t got = 0;

    if (td_date_parse(text, strlen(text), &got) < 0)
        fuzz_fail(T, "\"%s\" does not parse", text);
    if (got != want)
        fuzz_fail(T, "\"%s\" parses to day %d, not %d", text, (int)got, (int)want);
}

static void check_day(int32_t day, int n, int32_t other)
{
    char buf[64];
    int y, m, d, w, w1, age;
    int32_t back = 0, later;

    td_date_to_ymd(day, &y, &m, &d);
    if (!td_date_from_ymd(y, m, d, &back) || back != day)
        fuzz_fail(T, "day %d -> %d-%d-%d -> %d", (int)day, y, m, d, (int)back);
    td_date_format(day, buf, sizeof(buf));
    if (y >= 1000) {
        must_parse(buf, day);
        snprintf(buf, sizeof(buf), "%d/%d/%d", y, m, d);
        must_parse(buf, day);
        snprintf(buf, sizeof(buf), "%04d%02d%02d", y, m, d);
        must_parse(buf, day);
        snprintf(buf, sizeof(buf), "%d年%d月%d日", y, m, d);
        must_parse(buf, day);
        snprintf(buf, sizeof(buf), " %d.%02d.%02d 08:30:00 ", y, m, d);
        must_parse(buf, day);
    }
    w = td_date_weekday(day);
    if (w < 0 || w > 6)
        fuzz_fail(T, "weekday %d", w);
    if (day < last_day && (w1 = td_date_weekday(day + 1)) != (w + 1) % 7)
        fuzz_fail(T, "day %d is weekday %d, the next %d", (int)day, w, w1);
    if (day <= last_day - 2 * n - 7) {
        int count = 0;
        later = td_date_add_working_days(day, n);
        if (later < day || (n > 0 && td_date_weekday(later) >= 5))
            fuzz_fail(T, "%d working days after %d is %d", n, (int)day, (int)later);
        for (int32_t k = day + 1; k <= later; k++)
            count += td_date_weekday(k) < 5;
        if (count != n)
            fuzz_fail(T, "%d working days after %d is %d, with %d weekdays", n, (int)day,
                      (int)later, count);
    }
    if (td_date_age(day, day) != 0)
        fuzz_fail(T, "an age on the birth day");
    if (other >= day && (age = td_date_age(day, other)) < 0)
        fuzz_fail(T, "a negative age %d", age);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int32_t day = 0;
    int rc;

    if (!first_day && (!td_date_from_ymd(1, 1, 1, &first_day) ||
                       !td_date_from_ymd(9999, 12, 31, &last_day)))
        fuzz_fail(T, "the calendar's ends");
    rc = td_date_parse((const char *)data, size, &day);
    if (rc == 0) {
        char buf[32];
        if (day < first_day || day > last_day)
            fuzz_fail(T, "a parsed day %d outside years 1..9999", (int)day);
        td_date_format(day, buf, sizeof(buf));
        must_parse(buf, day);
        check_day(day, size ? data[0] % 32 : 0, day);
    } else if (rc != -EINVAL) {
        fuzz_fail(T, "td_date_parse returned %d", rc);
    }
    if (size >= 6) {
        uint32_t v = (uint32_t)data[0] | (uint32_t)data[1] << 8 | (uint32_t)data[2] << 16 |
                     (uint32_t)data[3] << 24;
        int32_t span = last_day - first_day + 1;
        day = first_day + (int32_t)(v % (uint32_t)span);
        check_day(day, data[4] % 64, day + data[5] * 53 > last_day ? last_day : day + data[5] * 53);
    }
    return 0;
}
