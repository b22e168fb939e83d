/* tdm_window: one household's state in tuodi-matchd (docs/matchd-design.md).
 *
 * Pure C, no I/O, no clock: every "day" is days since 1970-01-01 (td_date),
 * passed in by the caller and derived from the inputs. Three parts:
 *
 * 1. Amount series (e.g. "medical_oop": out-of-pocket medical spending of all
 *    members, in fen), kept as exact day buckets keyed by the EVENT date
 *    (settlement date), so a late record for an older date lands in its own
 *    day. There is no month compaction: a sliding window's edge eventually
 *    crosses every multi-day bucket, so merged buckets could not stay exact.
 *    The bucket count is bounded instead by tdm_window_expire(): at most
 *    keep_days buckets per series survive it.
 *
 *    A window of N days ending on day D holds the records with
 *        D - N < event_date <= D
 *    so with N = 365 spending 364 days old (D - 364) counts and spending 365
 *    days old (D - 365) has fallen out. Sums are exact, or refused: once
 *    days up to F have been expired (the "floor"), a window reaching back to
 *    F or earlier (D - N < F) fails with -ERANGE rather than give a short sum.
 *
 * 2. Signals per rule id: the set of days on which the rule matched for the
 *    subject (bounded by expiry), each rule with its department. A
 *    departments_within rule counts the departments that have a signal of
 *    any of their rules near a day (docs/matchd-design.md, "Arrival order and
 *    escalation").
 *
 * 3. Alerts per rule id: the open alert (id, raised day, anchor day,
 *    severity, due days, overdue-warned flag, routing village), the suppression left by a
 *    dismissal (until which day, at which severity), which is what
 *    tdm_window_may_alert() decides from, and the count of window alerts
 *    the rule raised (their ids hash it).
 *
 * The state serialises to canonical bytes (tdm_window_encode): equal states
 * give equal bytes. Order of additions does not matter: adding the same
 * amounts and signals in any order gives the same state.
 *
 * Errors follow td_error.h: 0 or a negative errno, out-parameters written only
 * on success. A tdm_window is not thread-safe; use it from one thread at a
 * time.
 */
#ifndef TDM_WINDOW_H
#define TDM_WINDOW_H

#include "td_error.h"
#include "tdm_rules.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Format of tdm_window_encode: its first byte. */
#define TDM_WINDOW_FORMAT 3u

/* Limits (decode refuses more; the mutators return -ENOSPC / -EINVAL). */
#define TDM_WINDOW_SERIES_ID_MAX 63   /* bytes of a series id, printable ASCII */
#define TDM_WINDOW_RULE_ID_MAX 127    /* bytes of a rule id, printable ASCII */
#define TDM_ALERT_ID_MAX 128          /* bytes of an alert id (alert.avsc) */
#define TDM_VILLAGE_CODE_LEN 12
#define TDM_WINDOW_MAX_SERIES 64
#define TDM_WINDOW_MAX_BUCKETS 8192   /* per series: ~22 years of days */
#define TDM_WINDOW_MAX_RULES 1024
#define TDM_WINDOW_MAX_DAYS 36500     /* longest window / keep horizon */
#define TDM_WINDOW_MAX_SIGNAL_DAYS 8192 /* per rule: ~22 years of days */

/* Severity: tdm_rules.h's tdm_severity (LOW < MEDIUM < HIGH). This module
 * compares and stores severities by rank, never by the enum's numbers: */

/* 1 LOW, 2 MEDIUM, 3 HIGH; 0 for anything else (not a valid severity). The
 * rank is what tdm_window_encode and tdm_alert_id write. */
int tdm_window_severity_rank(tdm_severity s);

/* Departments whose signals count for "two departments within 90 days". */
typedef enum tdm_department {
    TDM_DEPT_CIVIL_AFFAIRS = 0,
    TDM_DEPT_MEDICAL_INSURANCE = 1,
    TDM_DEPT_HUMAN_RESOURCES = 2,
    TDM_DEPT_COUNT = 3,
} tdm_department;

/* An open alert of one (household, rule). Strings are NUL-terminated. */
typedef struct tdm_open_alert {
    char alert_id[TDM_ALERT_ID_MAX + 1];      /* non-empty, printable ASCII */
    int32_t raised_day;                       /* date of the ALERT's raised_at */
    int32_t anchor_day;                       /* the day the hit was judged on
                                               * (the record's date, or the
                                               * stream day of an old record's
                                               * window alert): escalation
                                               * looks from here */
    tdm_severity severity;                    /* LOW..HIGH */
    int32_t visit_due_day;                    /* visit due date */
    int32_t procedure_due_day;                /* procedure due date */
    bool overdue_warned;                      /* the orange warning went out */
    char village_code[TDM_VILLAGE_CODE_LEN + 1]; /* routing of the first
                                                  * message; "" = unrouted */
} tdm_open_alert;

/* What tdm_window_may_alert() decided. */
typedef enum tdm_may {
    TDM_MAY_RAISE = 0,          /* raise: nothing open, no suppression in force
                                 * (or the severity rose above a dismissed
                                 * alert's) */
    TDM_MAY_NOT_OPEN,           /* suppressed: an alert of this rule is open (a
                                 * hit then only signals; the open alert may be
                                 * escalated, tdm_window_escalate) */
    TDM_MAY_NOT_DISMISSED,      /* suppressed: dismissed less than the
                                 * suppression period ago, severity not higher */
} tdm_may;

/* True for TDM_MAY_RAISE. */
bool tdm_may_raise(tdm_may m);

/* Days a dismissal suppresses its rule for the household. */
#define TDM_DISMISS_SUPPRESS_DAYS 90

typedef struct tdm_window tdm_window;

/* An empty state (nothing expired yet). NULL when out of memory. */
tdm_window *tdm_window_new(void);
/* Accepts NULL; returns NULL. */
tdm_window *tdm_window_free(tdm_window *w);
/* A deep copy, NULL when out of memory. */
tdm_window *tdm_window_copy(const tdm_window *w);
/* Same state (what tdm_window_encode would write). */
bool tdm_window_equal(const tdm_window *a, const tdm_window *b);
/* Nothing stored and nothing expired: the household needs no record. */
bool tdm_window_is_empty(const tdm_window *w);
/* Nothing left but the floor (expired history): no bucket, signal, open
 * alert or suppression. The floor alone is no information for a caller that
 * expires every window to its clock before use (tuodi-matchd): a new window
 * gets the same floor then, so such a window need not be stored. */
bool tdm_window_is_spent(const tdm_window *w);

/* ---- amount series ---- */

/* Adds amount_fen (may be negative: a correction) to series on day. A bucket
 * whose amounts cancel to 0 is removed. -EINVAL for a bad series id (empty,
 * too long, not printable ASCII); -ERANGE when day has been expired already
 * (day <= floor: the record is older than every window the caller keeps; it
 * is not stored); -EOVERFLOW when the bucket would overflow; -ENOSPC past the
 * limits; -ENOMEM. */
int tdm_window_add(tdm_window *w, const char *series, int32_t day, int64_t amount_fen);

/* The sum of series over the `days` days ending on end_day (see the top of
 * the file: D - days < event_date <= D). An unknown series sums to 0.
 * -EINVAL for days outside 1..TDM_WINDOW_MAX_DAYS or a bad series id;
 * -ERANGE when the window reaches into expired days; -EOVERFLOW. */
int tdm_window_sum(const tdm_window *w, const char *series, int32_t end_day, int days,
                   int64_t *ret_sum);

/* The windows of `days` days whose sum a record on day changes, in
 * ascending order of their end: the window ending on day, then the one
 * ending on each bucket day b of series with day < b <= day + days - 1.
 * Those are the only candidates for a threshold crossing: between two such
 * ends a window only loses buckets at its start, so (with amounts >= 0) its
 * sum is at most the sum at the candidate before. Calls fn(arg, end, sum)
 * for each until fn returns true; a window reaching into expired days
 * (end - days < floor) is skipped, as tdm_window_sum refuses it. Cost: one
 * binary search and one pass over the buckets of (day - days, day + days).
 * -EINVAL for a bad series id, days outside 1..TDM_WINDOW_MAX_DAYS or no
 * fn; -EOVERFLOW. An unknown series gives the window ending on day, sum 0. */
typedef bool (*tdm_window_sum_fn)(void *arg, int32_t end_day, int64_t sum);
int tdm_window_each_sum(const tdm_window *w, const char *series, int32_t day, int days,
                        tdm_window_sum_fn fn, void *arg);

/* Number of day buckets of series (0 if unknown): for tests and sizing. */
size_t tdm_window_bucket_count(const tdm_window *w, const char *series);

/* ---- signals ---- */

/* Records that rule_id (of department dept) matched for the subject on day:
 * the day joins the rule's set (a day already there changes nothing; the
 * rule's department becomes dept). -EINVAL for a bad rule id or department;
 * -ERANGE when day has been expired (nothing stored); -ENOSPC past
 * TDM_WINDOW_MAX_RULES rules or TDM_WINDOW_MAX_SIGNAL_DAYS days of a rule;
 * -ENOMEM. */
int tdm_window_signal(tdm_window *w, const char *rule_id, tdm_department dept, int32_t day);

/* The days rule_id matched, ascending, into *ret_days (valid until the next
 * mutation); returns their number, 0 (and *ret_days untouched) for none. */
size_t tdm_window_signal_days(const tdm_window *w, const char *rule_id,
                              const int32_t **ret_days);

/* The number of departments with a signal (of any of their rules) less than
 * `days` days from end_day on either side: |signal - end_day| < days. For
 * records in date order this is end_day - days < signal <= end_day (89 days
 * before counts, 90 does not); looking forward as well lets a late record
 * pair with a newer signal already seen, and every day is kept, so a late
 * record also sees an older signal of a department that signalled again
 * since. days outside 1..TDM_WINDOW_MAX_DAYS counts 0. */
int tdm_window_departments_within(const tdm_window *w, int32_t end_day, int days);

/* ---- alerts and suppression ---- */

/* May rule_id raise an alert of severity for this household on day? See
 * tdm_may. While an alert of the rule is open it does not alert again (at
 * any severity: the open alert is escalated instead); less than the
 * suppression period after it was dismissed (dismissed on day X: suppressed
 * while day < X + period) it does not alert again unless the severity rises
 * above the dismissed alert's. An invalid rule
 * id or severity is TDM_MAY_NOT_OPEN (never raise on bad input). */
tdm_may tdm_window_may_alert(const tdm_window *w, const char *rule_id, int32_t day,
                             tdm_severity severity);

/* Records a newly raised alert as the open alert of rule_id, replacing any
 * open one. The alert is copied. -EINVAL for a bad rule id
 * or alert (empty or over-long id, bad severity, village not "" or 12
 * digits); -EEXIST when another rule's open alert has the same id; -ENOSPC;
 * -ENOMEM. */
int tdm_window_open_alert(tdm_window *w, const char *rule_id, const tdm_open_alert *alert);

/* The open alert of rule_id, or NULL. Valid until the next mutation. */
const tdm_open_alert *tdm_window_find_open(const tdm_window *w, const char *rule_id);

/* The open alert with this alert id, or NULL; *ret_rule_id (if not NULL) gets
 * its rule id. Valid until the next mutation. */
const tdm_open_alert *tdm_window_find_alert(const tdm_window *w, const char *alert_id,
                                            const char **ret_rule_id);

/* Open alerts in rule-id order: i from 0 while it returns non-NULL. */
const tdm_open_alert *tdm_window_open_at(const tdm_window *w, size_t i,
                                         const char **ret_rule_id);

/* Closes the open alert alert_id (a verification outcome) on day. With
 * suppress_days > 0 (a dismissal: TDM_DISMISS_SUPPRESS_DAYS) the rule is then
 * suppressed at the alert's severity while day' < day + suppress_days; 0
 * leaves the rule free (other outcomes). -ENOENT when no open alert has that
 * id (closed already, or superseded); -EINVAL for suppress_days < 0 or >
 * TDM_WINDOW_MAX_DAYS. */
int tdm_window_close_alert(tdm_window *w, const char *alert_id, int32_t day, int suppress_days);

/* Raises the open alert alert_id's severity to severity, never lowers it:
 * 1 when raised, 0 when it was at severity or above already. -ENOENT as
 * above; -EINVAL for a bad severity. */
int tdm_window_escalate(tdm_window *w, const char *alert_id, tdm_severity severity);

/* The number of window alerts rule_id raised for the subject, as counted
 * by tdm_window_count_raised (0 for an unknown or bad id). A window alert's
 * id hashes it (tdm_alert_id's seq), so an alert raised again after the
 * last one closed never gets a closed alert's id even on the same anchor
 * day. */
uint32_t tdm_window_raised(const tdm_window *w, const char *rule_id);

/* Counts one more window alert of rule_id, anchored on anchor_day. The
 * count outlives the alert: it is forgotten (back to 0) only when the
 * floor reaches the latest counted anchor and no alert of the rule is open
 * (tdm_window_expire, tdm_window_close_alert), since a later crossing is
 * then on a day after every counted anchor. -EINVAL for a bad rule id;
 * -ERANGE for anchor_day <= floor; -EOVERFLOW; -ENOSPC; -ENOMEM. */
int tdm_window_count_raised(tdm_window *w, const char *rule_id, int32_t anchor_day);

/* Marks the open alert alert_id's orange warning as sent. -ENOENT as above. */
int tdm_window_mark_overdue_warned(tdm_window *w, const char *alert_id);

/* ---- a person joining a household ---- */

/* Moves src's history into dst: every day bucket of every series is added
 * to dst's and every signal day of every rule joins dst's (days at or below
 * dst's floor are dropped); src keeps its alerts and suppressions and loses its
 * buckets and signals. For a person first seen off the roster whose
 * household now lists him: his spending counts in the household's windows.
 * Returns 1 when something moved, 0 when src had nothing to give.
 * All or nothing: on error (-ENOMEM, -EOVERFLOW, -ENOSPC, -EINVAL for
 * dst == src) neither changes. */
int tdm_window_absorb(tdm_window *dst, tdm_window *src);

/* ---- expiry ---- */

/* Forgets what no window of at most keep_days ending on today or later can
 * need: day buckets and signal days on days <= today - keep_days (the new floor,
 * which never moves back), suppressions that ended by then, and counts of
 * raised alerts (tdm_window_raised) whose latest anchor is at or below it
 * (no alert of the rule open). Open alerts are kept. The caller passes its longest window plus the lateness it
 * tolerates. -EINVAL for keep_days outside 1..TDM_WINDOW_MAX_DAYS. */
int tdm_window_expire(tdm_window *w, int32_t today, int keep_days);

/* The first today on which tdm_window_expire(w, today, keep_days) leaves w
 * spent (tdm_window_is_spent) if nothing is added before; INT32_MAX when it
 * never does (an open alert, which only an outcome closes) or keep_days is
 * out of range; INT32_MIN for a window spent already. */
int32_t tdm_window_spent_day(const tdm_window *w, int keep_days);

/* Days <= the floor have been expired; INT32_MIN when nothing has. */
int32_t tdm_window_floor(const tdm_window *w);

/* ---- bytes (LMDB values) ----
 *
 * Format 3, all integers little-endian, strings length-prefixed, no padding:
 *   u8 format (2) | i32 floor | u16 signalling rule count, then per rule in
 *   id order: u8 id length, id, u8 department, u32 day count (>= 1), i32 day
 *   x count (ascending) | u16 series count, then per series in id order: u8
 *   id length, id, u32 bucket count, per bucket in day order: i32 day, i64
 *   amount (non-zero) | u16 rule count, then per rule in id order: u8 id
 *   length, id, u8 flags (1 open, 2 overdue warned, 4 suppressed), u8 alert
 *   id length, alert id, i32 raised, i32 anchor, u8 severity rank, i32 visit due, i32 procedure due, u8 village
 *   length (0 or 12), village, i32 suppressed until, u8 suppressed severity
 *   rank, u32 raised window alerts, i32 their latest anchor.
 * Fields of an absent open alert / suppression are written as zeros (the
 * anchor too when the count is 0). A rule is written when it has an open
 * alert, a suppression or a count.
 * Formats 1 (before signals per rule) and 2 (before the counts) are refused
 * with -ENOTSUP: tdm_store's TDM_STORE_FORMAT changed with each, so such a
 * state is rebuilt from Kafka. */

/* Bytes tdm_window_encode writes. */
size_t tdm_window_encoded_size(const tdm_window *w);
/* Writes the bytes into buf; -ENOSPC when size is too small. */
int tdm_window_encode(const tdm_window *w, void *buf, size_t size);
/* Parses bytes from tdm_window_encode. Refuses, with -EINVAL (-ENOTSUP for
 * another format byte) and a text in err, anything else: truncated input,
 * trailing bytes, bad lengths or characters, unsorted or duplicate entries,
 * zero amounts, days at or below the floor, unknown flags or severities. The
 * caller frees *ret with tdm_window_free(). */
int tdm_window_decode(const void *buf, size_t len, tdm_window **ret, td_error *err);

#endif
