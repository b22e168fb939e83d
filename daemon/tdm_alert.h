/* tdm_alert: the pure parts of an alert (docs/matchd-design.md,
 * schemas/alert.avsc): deterministic ids, routing, due dates, the overdue
 * check and the message for people. No I/O and no clock: "today" and the
 * raise date are passed in, derived from the inputs.
 *
 * Errors follow td_error.h: 0 or a negative errno, out-parameters written
 * only on success. Everything here is thread-safe (no shared state).
 */
#ifndef TDM_ALERT_H
#define TDM_ALERT_H

#include "tdm_window.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- ids ---- */

/* An alert id: 64 lower-case hex characters (SHA-256). */
#define TDM_ALERT_ID_LEN 64

/* What an alert's identity is made of. Strings are NUL-terminated; a NULL
 * field and an empty one are the same. */
typedef struct tdm_alert_id_input {
    const char *rule_id;        /* required */
    const char *rule_version;   /* required */
    const char *household_id;   /* the roster household; NULL when not on it */
    const char *person_key;     /* used when household_id is NULL or empty */
    tdm_severity severity;      /* LOW..HIGH: an escalation is a new alert */
    /* The triggering evidence: a record (dataset and its source record id),
     * or, for window rules, the crossing window's end day and seq (the
     * same crossing gives the same id whichever record completed it). */
    const char *dataset;        /* e.g. "medical_insurance"; NULL: use the day */
    const char *record_id;      /* source.record_id */
    int32_t window_end_day;     /* used when dataset is NULL or empty */
    uint32_t seq;               /* with window_end_day: how many alerts the
                                 * rule raised for the subject before
                                 * (tdm_window_raised) */
} tdm_alert_id_input;

/* One part of a digest: a tag byte and n bytes at p. */
typedef struct tdm_hash_part {
    char tag;
    const void *p;
    size_t n;
} tdm_hash_part;

/* The lower-case hex of SHA-256 over the parts, each written as its tag, its
 * length (u32 little-endian) and its bytes, so that a byte moved from one
 * part to the next changes the digest; cut to hex_len (1..64) characters and
 * a NUL into out (hex_len + 1 bytes). The digest of alert ids, suspect ids
 * (tdm_suspect.h) and suspect rule versions (tdm_rules.h). -EINVAL for a bad
 * hex_len; -ENOMEM; -EIO when libcrypto fails. */
int tdm_hash_hex(const tdm_hash_part *parts, size_t n, size_t hex_len, char *out);

/* Writes the alert id (TDM_ALERT_ID_LEN hex characters and a NUL) into out:
 * the hex of SHA-256 over a domain tag and every input field, each
 * length-prefixed, so the same inputs always give the same id and different
 * inputs (including a byte moved from one field to the next) give different
 * ids. -EINVAL when rule_id or rule_version is missing, both household_id
 * and person_key are missing, the severity is invalid, or a dataset is given
 * without a record id; -EIO when libcrypto fails. */
int tdm_alert_id(const tdm_alert_id_input *in, char out[TDM_ALERT_ID_LEN + 1]);

/* ---- routing ---- */

#define TDM_ALERT_TOPIC_PREFIX "tuodi.alerts."
#define TDM_ALERT_TOPIC_UNROUTED "tuodi.alerts.unrouted"

typedef struct tdm_route {
    bool routed;                                /* false: unrouted */
    char village_code[TDM_VILLAGE_CODE_LEN + 1];/* "" when unrouted */
    char township_code[10];                     /* first 9 digits, or "" */
    char county_code[7];                        /* first 6 digits, or "" */
    char topic[sizeof(TDM_ALERT_TOPIC_UNROUTED) + 8]; /* tuodi.alerts.<county> */
    char key[TDM_ALERT_ID_MAX + 1];             /* village code, or alert id */
} tdm_route;

/* True when v is a village code the bus can route: exactly 12 ASCII digits
 * with a non-zero province (first two digits 11..99). NULL is false. */
bool tdm_alert_village_valid(const char *v);

/* Routes an alert: to tuodi.alerts.<first 6 digits> keyed by the village
 * code when village_code is valid, else to tuodi.alerts.unrouted keyed by
 * alert_id. -EINVAL when alert_id is empty, too long or not printable ASCII. */
int tdm_alert_route(const char *village_code, const char *alert_id, tdm_route *ret);

/* ---- the county of a verification outcome ---- */

/* Outcomes come on one topic per county (docs/matchd-design.md, "Outcomes
 * per county"): <prefix><6-digit county code>, or <prefix>unrouted for the
 * alerts without a village, where prefix is topics.verifications_prefix
 * (default "tuodi.verifications."). */
#define TDM_OUTCOME_COUNTY_BUFSZ 9 /* "unrouted" or 6 digits, and a NUL */

/* The county of a verification topic: "340421" or "unrouted" into ret.
 * -EINVAL when topic is not <prefix><6 ASCII digits> or <prefix>unrouted
 * (or an argument is NULL); ret is then untouched. */
int tdm_alert_outcome_county(const char *prefix, const char *topic,
                             char ret[TDM_OUTCOME_COUNTY_BUFSZ]);

/* The regex that subscribes to every county's verification topic (and the
 * unrouted one): "^" prefix, its dots escaped, then
 * "([0-9][0-9][0-9][0-9][0-9][0-9]|unrouted)$" (explicit classes: both
 * librdkafka's own regex engine and POSIX ERE read them). prefix must hold
 * topic-name characters only (a-z A-Z 0-9 . _ -): -EINVAL otherwise;
 * -ENOSPC when size is too small. */
int tdm_alert_outcome_regex(const char *prefix, char *buf, size_t size);

/* Defence in depth (a county records outcomes only for its own alerts):
 * 0 when the alert of county alert_county (6 digits; "" or NULL for an
 * unrouted alert) may be closed by an outcome read from topic; else -EPERM
 * with the reason in buf, naming both counties, e.g. "the alert is of
 * county 340422, the outcome came on tuodi.verifications.340421 (county
 * 340421): a county records outcomes only for its own alerts". -EINVAL (and
 * a reason) when topic is no verification topic of prefix. */
int tdm_alert_outcome_check(const char *prefix, const char *topic, const char *alert_county,
                            char *buf, size_t size);

/* ---- due dates ---- */

/* The working-day calendar. td_date's working days are Monday to Friday;
 * holidays (weekdays off, e.g. the Spring Festival) and make-up days
 * (weekend days worked, 调休) come from China's holiday file (tdm_calendar.h,
 * deploy/data/china-holidays.csv). Both arrays sorted ascending; either may
 * be NULL with count 0. A NULL calendar is Monday to Friday.
 *
 * first_year..last_year are the years the arrays are complete for (0 and 0:
 * none). When fallback is set, tdm_calendar_add_working_days calls it for a
 * day it counts in a year outside them (that day is then Monday to Friday
 * plus whatever the arrays say), at most once per year per call; the hook
 * is the caller's, so is its thread-safety. */
typedef struct tdm_calendar {
    const int32_t *holidays;
    size_t n_holidays;
    const int32_t *workdays;
    size_t n_workdays;
    int first_year, last_year;
    void (*fallback)(void *opaque, int year);
    void *opaque;
} tdm_calendar;

#define TDM_VISIT_WORKING_DAYS 2
#define TDM_PROCEDURE_WORKING_DAYS 20

bool tdm_calendar_is_working_day(const tdm_calendar *cal, int32_t day);
/* The day n (>= 0) working days after day under cal; saturates at INT32_MAX. */
int32_t tdm_calendar_add_working_days(const tdm_calendar *cal, int32_t day, int n);

/* Visit due: 2 working days after the raise date; procedure due: 20. */
void tdm_alert_due_dates(const tdm_calendar *cal, int32_t raised_day, int32_t *ret_visit_due,
                         int32_t *ret_procedure_due);

/* ---- overdue ---- */

/* True when the open alert's orange warning is due on today: the visit due
 * day has passed (today > visit_due_day: a visit on the due day is in time)
 * and no warning went out yet. After the caller sends it, it marks the alert
 * (tdm_window_mark_overdue_warned), so each alert is warned at most once. */
bool tdm_alert_overdue(const tdm_open_alert *a, int32_t today);

/* ---- message for people ---- */

/* Words for a risk code ("01" -> "因病", "02xx" -> "因自然灾害", ...), or
 * NULL for a code not known here. */
const char *tdm_alert_risk_words(const char *risk_code);
/* "低", "中", "高", or "未知". */
const char *tdm_alert_severity_words(tdm_severity s);

/* Unit of a measured value (alert.avsc MeasureUnit). */
typedef enum tdm_unit {
    TDM_UNIT_FEN = 1,
    TDM_UNIT_BASIS_POINTS,
    TDM_UNIT_COUNT,
    TDM_UNIT_DAYS,
    TDM_UNIT_YEARS,
    TDM_UNIT_GRADE,
} tdm_unit;

typedef struct tdm_message_input {
    const char *rule_name;      /* Chinese; required */
    const char *risk_code;      /* NULL: none */
    tdm_severity severity;
    bool on_roster;             /* false: a person not on the roster */
    const char *village_code;   /* NULL or "": unrouted */
    const char *head_name;      /* NULL: unknown */
    const char *person_name;    /* NULL: unknown or household-level */
    bool has_measure;
    int64_t value, threshold;
    tdm_unit unit;
    int32_t visit_due_day, procedure_due_day;
} tdm_message_input;

/* A recommended size for tdm_alert_message's buffer. */
#define TDM_ALERT_MESSAGE_MAX 2048

/* Writes the Chinese message (who, what, how much, by when) into buf: e.g.
 * "【高】医疗自付费用365天累计超标（风险：因病）：村代码340421100201，户主张三
 * 家（成员李四）。测量值23456.00元，阈值5000.00元。请于2023-05-09前入户核查，
 * 2023-06-05前办结。"
 * The message never contains an identity number: any run of 15 or more
 * digits (with a trailing X) that a name or rule name brought in is masked
 * with '*'. -EINVAL without a rule name; -ENOSPC when size is too small
 * (buf then holds ""). */
int tdm_alert_message(const tdm_message_input *in, char *buf, size_t size);

#endif
