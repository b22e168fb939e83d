#include "td_date.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Howard Hinnant's days_from_civil / civil_from_days. */
static int64_t td_date_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void td_date_to_ymd(int32_t days, int *y, int *m, int *d)
{
    int64_t z = (int64_t)days + 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned dd = doy - (153 * mp + 2) / 5 + 1;
    const unsigned mm = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)((int64_t)yoe + era * 400 + (mm <= 2));
    *m = (int)mm;
    *d = (int)dd;
}

static bool td_date_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int td_date_days_in_month(int y, int m)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    if (y < 1 || y > 9999 || m < 1 || m > 12)
        return 0;
    return mdays[m - 1] + (m == 2 && td_date_leap(y));
}

bool td_date_from_ymd(int y, int m, int d, int32_t *ret_days)
{
    if (d < 1 || d > td_date_days_in_month(y, m))
        return false;
    *ret_days = (int32_t)td_date_days_from_civil(y, (unsigned)m, (unsigned)d);
    return true;
}

/* Reads up to max digits (at least min) at s[*i]. */
static bool td_date_digits(const char *s, size_t len, size_t *i, int min, int max, int *ret)
{
    int v = 0, n = 0;

    while (*i < len && n < max && s[*i] >= '0' && s[*i] <= '9') {
        v = v * 10 + (s[*i] - '0');
        (*i)++;
        n++;
    }
    *ret = v;
    return n >= min;
}

static bool td_date_sep(const char *s, size_t len, size_t *i, const char *utf8_sep)
{
    size_t n = strlen(utf8_sep);

    if (*i < len && (s[*i] == '-' || s[*i] == '/' || s[*i] == '.')) {
        (*i)++;
        return true;
    }
    if (utf8_sep[0] && len - *i >= n && memcmp(s + *i, utf8_sep, n) == 0) {
        *i += n;
        return true;
    }
    return false;
}

int td_date_parse(const char *s, size_t len, int32_t *ret_days)
{
    size_t i = 0, start;
    int y, m, d;
    int32_t days;

    while (i < len && s[i] == ' ')
        i++;
    while (len > i && (s[len - 1] == ' ' || s[len - 1] == '\r'))
        len--;
    start = i;
    if (!td_date_digits(s, len, &i, 4, 8, &y))
        return -EINVAL;
    if (i - start == 8) { /* YYYYMMDD */
        d = y % 100;
        m = (y / 100) % 100;
        y /= 10000;
    } else if (i - start == 4) {
        bool chinese = len - i >= 3 && memcmp(s + i, "年", 3) == 0;
        if (!td_date_sep(s, len, &i, "年") ||
            !td_date_digits(s, len, &i, 1, 2, &m) ||
            !td_date_sep(s, len, &i, chinese ? "月" : "") ||
            !td_date_digits(s, len, &i, 1, 2, &d))
            return -EINVAL;
        if (chinese && len - i >= 3 && memcmp(s + i, "日", 3) == 0)
            i += 3;
    } else {
        return -EINVAL;
    }
    /* An optional time part is ignored. */
    if (i < len && s[i] != ' ' && s[i] != 'T')
        return -EINVAL;
    if (!td_date_from_ymd(y, m, d, &days))
        return -EINVAL;
    *ret_days = days;
    return 0;
}

void td_date_format(int32_t days, char *buf, size_t size)
{
    int y, m, d;

    td_date_to_ymd(days, &y, &m, &d);
    snprintf(buf, size, "%04d-%02d-%02d", y, m, d);
}

int td_date_weekday(int32_t days)
{
    /* 1970-01-01 was a Thursday (3 when Monday is 0). */
    int w = (int)(((int64_t)days + 3) % 7);
    return w < 0 ? w + 7 : w;
}

int32_t td_date_add_working_days(int32_t days, int n)
{
    while (n > 0) {
        if (days == INT32_MAX)
            return days; /* a date from outside at the end of the range */
        days++;
        if (td_date_weekday(days) < 5)
            n--;
    }
    return days;
}

int td_date_age(int32_t birth, int32_t on)
{
    int by, bm, bd, oy, om, od, age;

    td_date_to_ymd(birth, &by, &bm, &bd);
    td_date_to_ymd(on, &oy, &om, &od);
    age = oy - by;
    if (om < bm || (om == bm && od < bd))
        age--;
    return age;
}
