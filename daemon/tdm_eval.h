/* tdm_eval: the deterministic evaluation core of tuodi-matchd
 * (docs/matchd-design.md). No Kafka, no LMDB, no clock: the engine loop finds
 * the household and its state, calls these functions inside its transaction,
 * then produces the alerts and stores the state.
 *
 * Four entry points, each on ONE subject's state (a tdm_window):
 *   tdm_eval_record     a department record (MedicalSettlement,
 *                       CivilAffairsEvent, EmploymentEvent): windows and
 *                       signals first, then every enabled rule of its dataset;
 *   tdm_eval_household  a roster household update: the income-below-line rule;
 *   tdm_eval_outcome    a VerificationOutcome: closes the open alert;
 *   tdm_eval_overdue    the orange warnings due on an injected "today".
 *
 * The subject is a roster household (its tdm_household view from tdm_roster;
 * the state is keyed by household id) or, when the person is not on the
 * roster, the person alone (household NULL; the state is keyed by person key).
 *
 * Decisions (documented here, tested in tests/daemon/test_eval.c):
 *  - Time. "Now" for a record is its event date (settlement date, event
 *    date), for a household update the day of Household.updated_at: rules
 *    and windows are judged on it. An ALERT is raised on the push day, the
 *    stream clock's day ctx->today (or the record's date when that is later,
 *    or when today is 0): ALERT.raised_at is that day at 00:00 China
 *    Standard Time (UTC+8) and the due dates count from it, so no alert is
 *    born overdue; the event date stays in the evidence. An
 *    OVERDUE_WARNING's raised_at is the start (00:00 CST) of the day after the
 *    visit due date, i.e. the moment it became overdue; a CLOSED message's is
 *    the outcome's recorded_at.
 *  - Windows. For each summable field that some rule of the record's dataset
 *    sums (enabled or not, so that enabling a rule later finds its history),
 *    the record's amount is added to the series "<dataset>.<field>" on the
 *    record's date. A window rule of N days then judges every window the
 *    record changed, in ascending order of their end: the one ending on the
 *    record's date and those ending on each day b of the series with date <
 *    b <= date + N - 1 (tdm_window_each_sum; a window reaching into expired
 *    days is skipped). The first that meets the rule is the crossing: the
 *    alert's anchor day (its window end) and measure (its sum); the rule
 *    signals on the end of every window that meets it. The alert's id
 *    hashes the anchor day and tdm_window_raised (the rule's alerts before,
 *    counted in the state), not the record, so the same crossing has the
 *    same id whichever record completed it; its evidence is the record
 *    whose arrival found it, which depends on the arrival order. Event and
 *    income alerts keep record-based ids. A record older than the state's
 *    expiry floor updates nothing and fires no window rule (not an error). Expiry is the engine's:
 *    tdm_window_expire(state, day of its input clock, longest window + the
 *    lateness it tolerates).
 *  - Old records (docs/matchd-design.md, "Old records"). A record is old
 *    when its date is more than ctx->max_event_age days before ctx->today
 *    (tdm_eval_is_old; exactly max_event_age days is not old). It updates
 *    windows and signals as any record, but its event rules raise nothing
 *    (the record is counted in out->held_back); its window rules sum the
 *    window ending on today, the window as it stands, and raise when that
 *    is over the threshold (evidence: the record). DEPARTMENTS_WITHIN counts
 *    from the same day as the window. The income rule judges the roster row
 *    as it stands and is never held back.
 *  - Signals. A rule that MATCHES a record (before suppression, held back
 *    or not) signals for its department on the record's date (a window rule
 *    of a record within the age: on each meeting window's end, above); the state
 *    keeps every such day per rule (tdm_window_signal). Plain records (every
 *    settlement) are not signals.
 *  - Escalation (docs/matchd-design.md, "Arrival order and escalation"). An
 *    open alert of rule R is anchored on the day its hit was judged on (the
 *    record's date, a window rule's crossing, or ctx->today for an old
 *    record's window alert). Its
 *    required severity is R's own, raised to the severity of every enabled
 *    DEPARTMENTS_WITHIN rule W admitting R's dataset and the subject when,
 *    for some day t in {anchor} and the days >= anchor on which R matched,
 *    at least W's count of departments have a signal less than W's
 *    within_days from t. A new alert is raised at its required severity;
 *    after every department record every open alert of the state below its
 *    required severity is escalated (never lowered): its state severity
 *    rises and an ALERT with the same id, the escalation flag set and the
 *    new severity is appended (the engine completes it from the stored
 *    original, tdm_alert_avro_escalate). W makes no alert of its own. So
 *    the open alerts, their ids and severities after all records do not
 *    depend on how the departments' records interleave.
 *  - Age. From the member's birth date in the household view at the event
 *    date; for a person not on the roster (or not found among the members),
 *    from the person key when it is an 18-character identity number with a
 *    valid check character; a pseudonymised key gives no age and an age rule
 *    then does not fire. Labour capacity is known only for roster members: a
 *    rule that filters on it (working-age death) does not fire for people
 *    not on the roster (tdm_rule_matches_event's contract).
 *  - Population. Roster MONITORED -> ROSTER_MONITORED; NOT_MONITORED,
 *    RISK_ELIMINATED and UNKNOWN -> ROSTER_NOT_MONITORED.
 *  - Suppression via tdm_window_may_alert: a hit of a rule whose alert is
 *    open raises nothing (it signals, which may escalate the open alert); a
 *    dismissed rule raises again only above the dismissed severity. Alert
 *    ids hash the rule's own severity, so an escalation keeps the id, and
 *    supersedes_alert_id is never written.
 *  - Routing: the roster village for households; the record's own
 *    village_code for people not on the roster; else tuodi.alerts.unrouted.
 *    OVERDUE_WARNING and CLOSED keep the routing of the first message.
 *  - Outcomes. Rejected (state untouched) when: the alert is not open in this
 *    state (unknown, closed or superseded: -ENOENT); verifier or reviewer is
 *    empty after trimming white space, or both are equal (-EPERM: the
 *    two-person rule); the outcome is UNKNOWN, IDENTIFIED without category or
 *    DISMISSED without reason, or DEPARTMENT_DATA_WRONG, which is for
 *    suspects only (-EINVAL). Otherwise the alert closes on the
 *    date of recorded_at (CST): DISMISSED suppresses the rule for the subject
 *    for TDM_DISMISS_SUPPRESS_DAYS; IDENTIFIED_AS_MONITORING_OBJECT,
 *    ALREADY_MONITORED and COULD_NOT_REACH close without suppression (the
 *    household changes state on the roster, or must be reached again when
 *    the next signal comes).
 *  - Snapshots. OVERDUE_WARNING and CLOSED carry what the state and the
 *    current rules know (rule, severity, routing, due dates, household fields
 *    when the view is given) but no evidence or measure: the state does not
 *    keep the original alert. tdm_engine stores each ALERT's bytes with its
 *    alert index entry and copies evidence, measure, suggested category and
 *    person from it into the snapshot.
 *
 * Errors follow td_error.h: 0 or a negative errno with the reason in err
 * (never a person key or name). On error the state may have been changed
 * partly: the caller discards it (aborts its transaction); the alert list is
 * restored to its length before the call.
 *
 * Threads: the functions share nothing; a state and a list are used by one
 * thread at a time. */
#ifndef TDM_EVAL_H
#define TDM_EVAL_H

#include "td_avro.h"
#include "td_error.h"
#include "tdm_alert.h"
#include "tdm_rules.h"
#include "tdm_window.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The roster's household view (tdm_roster.h); declared here so that users of
 * tdm_eval need not include the roster. */
typedef struct tdm_household tdm_household;

/* What the evaluation reads besides its inputs. Borrowed. */
typedef struct tdm_eval_ctx {
    const tdm_rules *rules;         /* required */
    const tdm_calendar *calendar;   /* NULL: Monday to Friday */
    const char *instance;           /* Alert.source.connector_instance, e.g.
                                     * "tuodi-matchd@huainan"; required */
    int32_t today;                  /* the stream clock's day (CST, days since
                                     * 1970-01-01); 0: no clock, every record
                                     * is raised on its own date, none is old */
    int32_t max_event_age;          /* days (alerts.max_event_age); < 0: none
                                     * is old */
} tdm_eval_ctx;

/* Where the input record is on the bus (evidence). */
typedef struct tdm_coords {
    const char *topic;
    int32_t partition;
    int64_t offset;
} tdm_coords;

typedef enum tdm_alert_kind {
    TDM_KIND_ALERT = 1,
    TDM_KIND_OVERDUE_WARNING,
    TDM_KIND_CLOSED,
} tdm_alert_kind;

typedef enum tdm_outcome {
    TDM_OUTCOME_UNKNOWN = 0,
    TDM_OUTCOME_IDENTIFIED,         /* IDENTIFIED_AS_MONITORING_OBJECT */
    TDM_OUTCOME_ALREADY_MONITORED,
    TDM_OUTCOME_DISMISSED,
    TDM_OUTCOME_COULD_NOT_REACH,
    TDM_OUTCOME_DEPARTMENT_DATA_WRONG, /* suspects only (tdm_suspect.h) */
} tdm_outcome;

/* Strings in the following structs are owned (malloc'd) by the alert and
 * freed by tdm_alert_list_reset/done; NULL is an Avro null. */
typedef struct tdm_evidence {
    tdm_dataset dataset;            /* TDM_DATASET_HOUSEHOLD: ROSTER */
    char *event_type;
    char *person_key;
    bool has_event_date;
    int32_t event_date;
    bool has_amount;
    int64_t amount_fen;
    char *topic;
    int32_t partition;
    int64_t offset;
    char *src_department;           /* Source.department symbol */
    char *src_connector_instance;
    char *src_record_id;
    char *src_location;
    bool has_src_row;
    int64_t src_row;
} tdm_evidence;

typedef struct tdm_closure {
    tdm_outcome outcome;
    tdm_category category;          /* NONE: null */
    char *reason;
    int32_t visit_date;
    int64_t recorded_at;
    char *outcome_id;
} tdm_closure;

typedef struct tdm_alert_out {
    char alert_id[TDM_ALERT_ID_MAX + 1];
    tdm_alert_kind kind;
    char *rule_id;
    char *rule_version;
    char *rule_name;
    char *risk_code;
    tdm_severity severity;
    tdm_population population;      /* ROSTER_MONITORED, ROSTER_NOT_MONITORED,
                                     * NOT_ON_ROSTER */
    char *household_id;             /* NULL when not on the roster */
    tdm_household_type household_type; /* TDM_HH_NONE: null */
    char *person_key;               /* NULL for household-level alerts */
    char *person_name;
    tdm_route route;                /* village/township/county ("" unrouted),
                                     * topic and key of every message */
    char *grid_id;
    char *head_name;
    tdm_category suggested_category;/* NONE: null */
    size_t n_evidence;              /* 0 or 1 */
    tdm_evidence evidence[1];
    int32_t evidence_count;
    tdm_measure measure;            /* present false: null */
    tdm_unit unit;
    const char *comparison;         /* "GE", "LT" (static) */
    int64_t raised_at;              /* ms since the epoch */
    int32_t visit_due_date;
    int32_t procedure_due_date;
    char *message;
    bool has_closure;
    tdm_closure closure;
    bool escalation;                /* kind ALERT: a later update of an open
                                     * alert at a higher severity, built as a
                                     * snapshot (no evidence, measure or
                                     * person); raised_at and due dates are
                                     * the original's */
} tdm_alert_out;

/* A growable list of alerts; start it as TDM_ALERT_LIST_INIT. */
typedef struct tdm_alert_list {
    tdm_alert_out *v;
    size_t n;
    size_t cap;
    uint64_t held_back;             /* records whose rule matches were held
                                     * back as old (tdm_eval_record adds,
                                     * only on success; reset does not
                                     * clear it) */
} tdm_alert_list;

#define TDM_ALERT_LIST_INIT {NULL, 0, 0, 0}

/* Empties the list (frees the alerts' strings, keeps the array). */
void tdm_alert_list_reset(tdm_alert_list *l);
/* Frees everything; the list is TDM_ALERT_LIST_INIT again. Accepts NULL. */
void tdm_alert_list_done(tdm_alert_list *l);

/* ms since the epoch of 00:00 China Standard Time on day. */
int64_t tdm_eval_cst_midnight_ms(int32_t day);
/* The CST calendar day of ms. */
int32_t tdm_eval_cst_day(int64_t ms);

/* True when a record dated day is old by ctx (see "Old records" above). */
bool tdm_eval_is_old(const tdm_eval_ctx *ctx, int32_t day);

/* Evaluates one department record. dataset is MEDICAL_INSURANCE,
 * CIVIL_AFFAIRS or HUMAN_RESOURCES and value an instance of the matching
 * reader schema (as td_avro_decode gives it). household is the person's
 * household, or NULL when the person is not on the roster; state is that
 * household's (or that person's) state, updated in place. The alerts (kind
 * ALERT) are appended to out in rule-file order. -EINVAL for a value that
 * lacks a field the dataset needs or a bad dataset; the window's and
 * tdm_alert's codes; -ENOMEM. */
int tdm_eval_record(const tdm_eval_ctx *ctx, tdm_dataset dataset, const avro_value_t *value,
                    const tdm_coords *coords, const tdm_household *household,
                    tdm_window *state, tdm_alert_list *out, td_error *err);

/* Evaluates a roster household update (after tdm_roster_apply): the
 * INCOME_BELOW_LINE rules, for households their population admits (the
 * shipped rule: not monitored). The line is the one of (province of the
 * household's village, income year). coords: the roster record. */
int tdm_eval_household(const tdm_eval_ctx *ctx, const tdm_household *household,
                       const tdm_coords *coords, tdm_window *state, tdm_alert_list *out,
                       td_error *err);

/* Applies a VerificationOutcome (value) to the state that holds its alert.
 * household / person_key name the subject as for tdm_eval_record (one of
 * them). On success closes the alert, appends one CLOSED snapshot and
 * returns 0; a rejection (see the top: -ENOENT, -EPERM, -EINVAL) leaves state
 * and out untouched and puts the DLQ reason in err. */
int tdm_eval_outcome(const tdm_eval_ctx *ctx, const avro_value_t *value,
                     const tdm_household *household, const char *person_key,
                     tdm_window *state, tdm_alert_list *out, td_error *err);

/* Appends one OVERDUE_WARNING per open alert of state whose visit due date
 * is before today (tdm_alert_overdue) and marks it warned, so a second call
 * warns nothing more. In rule-id order. */
int tdm_eval_overdue(const tdm_eval_ctx *ctx, tdm_window *state, int32_t today,
                     const tdm_household *household, const char *person_key,
                     tdm_alert_list *out, td_error *err);

/* Turns value, an ALERT (schemas/alert.avsc) as it was produced, into its
 * escalation: severity set to severity and the message re-made for it from
 * the value's own fields; everything else stays. -EINVAL (reason in err) for
 * a value that is no Alert or lacks a field; -ENOSPC, -ENOMEM. */
int tdm_alert_avro_escalate(avro_value_t *value, tdm_severity severity, td_error *err);

/* Fills value, an instance of the Alert schema (schemas/alert.avsc, e.g.
 * from td_avro_schema_value_new), from a: every field set, ready for
 * td_avro_encode. The Alert's source is department RURAL_REVITALIZATION,
 * connector instance ctx_instance, record id the alert id. */
int tdm_alert_out_to_avro(const tdm_alert_out *a, const char *ctx_instance, avro_value_t *value,
                          td_error *err);

#endif
