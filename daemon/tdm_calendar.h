/* tdm_calendar: China's working days for the due dates (docs/matchd-design.md,
 * "Due dates"), from a holiday file (deploy/data/china-holidays.csv, the
 * State Council General Office's annual notices).
 *
 * Two layers:
 *   tdm_holidays  a parsed file: weekdays off, worked weekends (调休) and the
 *                 years it covers, each with its source. Immutable; no I/O
 *                 besides reading the file, no log, no global state.
 *   tdm_workdays  the calendar tuodi-matchd runs with: the file (or none),
 *                 reloaded on SIGHUP (parse, validate, swap), one warning per
 *                 year that falls back to Monday to Friday and the metrics
 *                 tuodi_matchd_calendar_fallback_total and
 *                 tuodi_matchd_calendar_last_year. Logs (td_log); from the
 *                 engine's thread only.
 *
 * The file (its own header comment says the same):
 *
 *   # source 2025: 国务院办公厅关于2025年部分节假日安排的通知，国办发明电〔2024〕12号，2024-11-12发布
 *   date,kind,name
 *   2025-01-28,holiday,春节
 *   2025-01-26,workday,春节
 *
 *   - '#' starts a comment line, empty lines are ignored, CR LF is read as LF
 *     and a UTF-8 byte order mark at the start is skipped;
 *   - "# source YYYY: <notice>" covers year YYYY: its days are exactly as the
 *     file says. The covered years follow each other (no gap), each has at
 *     least one row, and every row's date is in one;
 *   - the first line that is neither a comment nor empty is the header
 *     "date,kind,name"; each further line is a row of three fields, no
 *     quoting: a real date YYYY-MM-DD, "holiday" (a Monday..Friday that is
 *     off) or "workday" (a Saturday or Sunday that is worked), and a
 *     non-empty name without ','.
 *   - a date on two rows (the same kind or both kinds) is an error.
 *
 * Errors follow td_error.h. A bad file gives -EINVAL and every problem
 * (the first TDM_HOLIDAYS_MAX_ERRORS by position, then a line counting the
 * rest), one per line, as "FILE:LINE:COL: message": LINE and COL 1-based,
 * COL in characters. Messages never repeat a field's text.
 */
#ifndef TDM_CALENDAR_H
#define TDM_CALENDAR_H

#include "td_error.h"
#include "td_metrics.h"
#include "tdm_alert.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TDM_HOLIDAYS_MAX_BYTES (1u << 20) /* bigger files are refused (-EFBIG) */
#define TDM_HOLIDAYS_MAX_ERRORS 10

/* ---- a holiday file ---- */

typedef struct tdm_holidays tdm_holidays;

/* Parses len bytes of text (NULs are errors) named name in messages.
 * 0 and *ret (the caller frees it with tdm_holidays_free); -EINVAL with
 * the problems in err; -ENOMEM. */
int tdm_holidays_parse(const char *name, const char *text, size_t len, tdm_holidays **ret,
                       td_error *err);
/* Reads and parses the file at path (messages name it as spelled):
 * as tdm_holidays_parse, and -ENOENT, -EACCES, ... when it cannot be read,
 * -EFBIG above TDM_HOLIDAYS_MAX_BYTES. */
int tdm_holidays_load(const char *path, tdm_holidays **ret, td_error *err);
/* Accepts NULL; returns NULL. */
tdm_holidays *tdm_holidays_free(tdm_holidays *h);

/* The covered years, first..last (always at least one). */
int tdm_holidays_first_year(const tdm_holidays *h);
int tdm_holidays_last_year(const tdm_holidays *h);
/* The notice of a covered year as the file names it (owned by h), or NULL
 * for a year not covered. */
const char *tdm_holidays_source(const tdm_holidays *h, int year);
size_t tdm_holidays_count(const tdm_holidays *h, bool workdays);

/* The calendar of h: its arrays (borrowed from h, valid while h lives) and
 * covered years; no fallback hook. */
void tdm_holidays_calendar(const tdm_holidays *h, tdm_calendar *ret);

/* ---- the calendar tuodi-matchd runs with ---- */

typedef struct tdm_workdays tdm_workdays;

/* Loads the holiday file at path. A file that is missing (-ENOENT) while
 * missing_ok (path is the default, not one the config names) is no error:
 * matchd warns once and every year counts Monday to Friday. Every other
 * problem is an error (tdm_holidays_load's). 0 and *ret; logs which years
 * the file covers. */
int tdm_workdays_new(const char *path, bool missing_ok, tdm_workdays **ret, td_error *err);
/* Accepts NULL; returns NULL. */
tdm_workdays *tdm_workdays_free(tdm_workdays *w);

/* The calendar to give to tdm_alert_due_dates (the address is stable for
 * w's life; a reload changes what it holds): each count of working days
 * that passes a day of a year the file does not cover counts Monday to
 * Friday there, warns once per year for w's life, and adds 1 to
 * tuodi_matchd_calendar_fallback_total{year}. */
const tdm_calendar *tdm_workdays_calendar(tdm_workdays *w);

/* Registers the metrics in reg (borrowed; it outlives w):
 * tuodi_matchd_calendar_fallback_total{year} and the gauge
 * tuodi_matchd_calendar_last_year (the last covered year, 0 without a
 * file). NULL reg: none. */
void tdm_workdays_metrics(tdm_workdays *w, td_metrics *reg);

/* SIGHUP: parses the file again (the same path and missing_ok) and swaps it
 * in only when it is valid; else keeps the running calendar and returns the
 * error (the caller logs it). Logs the years now covered. */
int tdm_workdays_reload(tdm_workdays *w, td_error *err);

/* The years covered now (0 and 0 without a file). */
void tdm_workdays_years(const tdm_workdays *w, int *ret_first, int *ret_last);

#endif
