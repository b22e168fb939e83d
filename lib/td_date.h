/* td_date: calendar dates as days since 1970-01-01 (Avro's `date` logical
 * type), proleptic Gregorian, and the working-day arithmetic of deadlines.
 */
#ifndef TD_DATE_H
#define TD_DATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Days since 1970-01-01 of y-m-d, if that is a real date (year 1..9999). */
bool td_date_from_ymd(int y, int m, int d, int32_t *ret_days);
void td_date_to_ymd(int32_t days, int *y, int *m, int *d);
/* Days in month m (1..12) of year y (1..9999); 0 when either is out of
 * range. */
int td_date_days_in_month(int y, int m);

/* Parses a date as departments write it: "2023-05-01", "2023/5/1",
 * "2023.05.01", "20230501", "2023年5月1日", optionally followed by a time
 * part (" 00:00:00", "T08:30") that is ignored. Leading and trailing spaces
 * are allowed. 0 or -EINVAL (not a date, or not a real date). */
int td_date_parse(const char *s, size_t len, int32_t *ret_days);

/* "YYYY-MM-DD" into buf (>= 11 bytes). */
void td_date_format(int32_t days, char *buf, size_t size);

/* 0 = Monday ... 6 = Sunday. */
int td_date_weekday(int32_t days);

/* The date `n` working days (Monday to Friday) after `days`. Public holidays
 * are not known here (see docs). Saturates at INT32_MAX (a date from outside
 * at the end of the range), never wraps. */
int32_t td_date_add_working_days(int32_t days, int n);

/* Whole years from birth to on (age on a date). */
int td_date_age(int32_t birth, int32_t on);

#endif
