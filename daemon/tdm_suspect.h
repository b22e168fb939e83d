/* tdm_suspect: the suspicious-data list (疑点数据清单) of tuodi-matchd.
 *
 * The roster says one thing about a household, a department's records say
 * another: each such contradiction, found by a suspect rule of the rules file
 * (tdm_rules.h, `suspects:`), is a tracked item, a suspect, that goes to its
 * county's queue (tuodi.suspects.<county>, keyed by village code) for the
 * village to re-check and fix, and that resolves itself when a later roster
 * export or department record no longer contradicts (整改到位), or closes by
 * a verified outcome DEPARTMENT_DATA_WRONG (the roster is right).
 *
 * Pure C, no Kafka, no LMDB, no clock, like tdm_eval: the engine finds the
 * household, loads its tdm_suspects state, calls these functions inside its
 * transaction, produces the Suspect messages (schemas/suspect.avsc) and
 * stores the state after the commit.
 *
 * One tdm_suspects per subject, keyed like tdm_window's state: a roster
 * household by household id; a person not on the roster by person key (so
 * his department facts are there when the roster adds him:
 * tdm_suspects_absorb). It holds:
 *  - department facts per person key (the latest record of each kind by
 *    (event date, topic, partition, offset); each with that record as
 *    evidence): DEATH_REGISTERED (date); DISABILITY_CERTIFIED (grade, date);
 *    低保 and 特困 status (DIBAO_APPROVED / DIBAO_CANCELLED, TEKUN_APPROVED /
 *    TEKUN_CANCELLED: approved or cancelled, date); public-welfare job
 *    (PUBLIC_WELFARE_JOB_STARTED / _ENDED: holds one or not, date); and civil
 *    affairs transfers (amount_fen) summed per calendar year (the years
 *    before the latest two are forgotten);
 *  - the open suspects (id, rule id, person key or none, raised day, fix due
 *    day, what it rests on);
 *  - the suspects closed as DEPARTMENT_DATA_WRONG, by (rule, person, the
 *    evidence record): the same department record never raises that rule
 *    again for that person; a newer record of the same fact may.
 *
 * Decisions (tested in tests/daemon/test_suspect.c, one test just inside and
 * one just outside each indicator):
 *  - "Today". tdm_suspects_eval is given a day: the engine passes the later
 *    of the day of its stream clock and the day of the triggering record
 *    (roster updated_at, or the department record's date). A department fact
 *    dated D counts from D + grace_days of the rule (the roster needs time to
 *    catch up); tdm_suspects_next_due tells the engine when a waiting fact
 *    starts to count, so it can evaluate again then without any new record.
 *  - Old facts (docs/matchd-design.md, "Old records"). The list judges the
 *    roster as it stands, as the income rule does: a fact is never held back
 *    for its age (a dead person still listed is a suspect however old the
 *    death record), and a suspect is raised on the push day (raised_at
 *    below), so none is born overdue; the fact's date stays in the evidence
 *    and in department_value.
 *  - Which records count. Department facts count for the members the
 *    household lists now. A DISABILITY_CERTIFIED without a grade 1..4 is no
 *    fact. grace_days applies to the department-fact checks (death,
 *    disability, allowances, jobs); income_below_transfers counts every
 *    transfer at once (the income year is usually a closed one), and the
 *    roster-only checks (duplicate person, birth date, sex) have none.
 *  - Allowances are household-level (person key null): the household
 *    receives 低保 (特困) when some listed member's latest DIBAO_* (TEKUN_*)
 *    record is APPROVED. Not recorded: the roster says false and some such
 *    approval counts (its date + grace <= today). Still marked: the roster
 *    says true, no listed member's latest record is an approval, and the
 *    most recent of the members' cancellations counts (the allowance ended
 *    no earlier: an older cancellation of another member does not raise it
 *    while a newer one is within its grace). Evidence: those records, most
 *    recent first (at most 10).
 *  - Raised once: while a suspect of (rule, person) is open nothing new is
 *    raised for it (the open suspect keeps the RAISED message's snapshot,
 *    which RESOLVED and CLOSED repeat; nothing is re-sent).
 *    When the contradiction is gone at an evaluation the open suspect is
 *    RESOLVED by the triggering record. It is not gone while a department
 *    fact contradicts the roster but does not count yet (a newer record
 *    within its grace: another member's approval, a new certificate with
 *    another grade): the open suspect stays open, so that no RESOLVED
 *    reports a fix nobody made and no second RAISED follows. A later
 *    contradiction is a new suspect with a new id. An open suspect of a rule that is disabled or no longer
 *    in the file stays open (nothing judges it) until the rule runs again
 *    or the household leaves the roster.
 *  - Ids: "sus-" + the first 32 hex characters of SHA-256 (tdm_hash_hex) over
 *    (rule id, rule version, household id, person key or "", the anchor, the
 *    data day, the trigger's topic/partition/offset and time). The anchor is the record the contradiction rests on: the
 *    department record's topic/partition/offset (allowances: the most recent
 *    counting record; income: the latest transfer of the income year), or for
 *    roster-only indicators "", 0 and the roster record's updated_at. The
 *    data day is the later of the roster's updated_at day and the fact's
 *    date + grace_days (income: the latest transfer's date; roster-only:
 *    the roster's day): a function of the records, not of the stream clock,
 *    so that a raise by a record has the same id whatever day it is read
 *    (as an alert id hashes no push day). Deterministic, so a replay after
 *    a crash gives the same ids; a contradiction raised again after it
 *    resolved is raised by another trigger (a record is processed once, a
 *    tick has a day of its own), so a new id even on the same anchor and
 *    data day.
 *  - raised_at: 00:00 CST of the push day, the later of `today` and the data
 *    day (a waiting fact is raised by the due scan's tick on the day its
 *    grace ends, or on the stream clock's next day when that comes later);
 *    fix_due_date: 20 working days later under ctx->calendar
 *    (tdm_alert_due_dates' procedure due date).
 *  - DEPARTMENT_DATA_WRONG marks (rule, person key or "", anchor): that
 *    anchor never raises that rule for that person again.
 *  - Evidence of roster-only indicators and of a resolution by a roster
 *    record or a tick: dataset ROSTER, the triggering roster record's
 *    coordinates (a tick: "", 0, 0) and its Source (a tombstone or a tick:
 *    RURAL_REVITALIZATION, record id the household id).
 *  - Routing: the roster household's village; every message of a suspect
 *    keeps the routing of the RAISED message.
 *  - Household removed from the roster (tombstone, household NULL): every
 *    open suspect of it resolves.
 *  - Texts (roster_value, department_value) are for people, in Chinese, and
 *    never hold an identity number or a person key.
 *
 * Errors follow td_error.h: 0 or a negative errno with the reason in err
 * (never a person key or name). On error the state may be partly changed:
 * the caller discards it (aborts its transaction); the list is restored to
 * its length before the call.
 *
 * Threads: the functions share nothing; a state and a list are used by one
 * thread at a time. */
#ifndef TDM_SUSPECT_H
#define TDM_SUSPECT_H

#include "td_avro.h"
#include "td_error.h"
#include "tdm_eval.h"
#include "tdm_roster.h"
#include "tdm_rules.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* First byte of tdm_suspects_encode's bytes. */
#define TDM_SUSPECTS_FORMAT 1u
#define TDM_SUSPECT_ID_MAX 128      /* bytes of a suspect id */
#define TDM_SUSPECT_EVIDENCE_MAX 10 /* Suspect.evidence */
/* tdm_suspect_out.route.topic: the default prefix and the county, or the
 * unrouted topic (a household whose village code is not 12 digits); an
 * engine with another topics.suspects_prefix replaces the prefix, as it
 * does TDM_ALERT_TOPIC_PREFIX for alerts. */
#define TDM_SUSPECT_TOPIC_PREFIX "tuodi.suspects."
#define TDM_SUSPECT_TOPIC_UNROUTED "tuodi.suspects.unrouted"

typedef enum tdm_suspect_kind {
    TDM_SUSPECT_RAISED = 1,
    TDM_SUSPECT_RESOLVED,
    TDM_SUSPECT_CLOSED,
} tdm_suspect_kind;

/* One Suspect message (schemas/suspect.avsc). Strings are owned by the
 * message and freed by tdm_suspect_list_reset/done; NULL is an Avro null. */
typedef struct tdm_suspect_out {
    char suspect_id[TDM_SUSPECT_ID_MAX + 1];
    tdm_suspect_kind kind;
    char *indicator_id;
    char *indicator_version;
    char *indicator_name;
    char *fix_hint;
    char *household_id;
    tdm_route route;                /* village/township/county, topic
                                     * tuodi.suspects.<county>, key village */
    char *grid_id;
    char *head_name;
    char *person_key;               /* NULL for household-level indicators */
    char *person_name;
    char *roster_value;
    char *department_value;
    size_t n_evidence;              /* 0..TDM_SUSPECT_EVIDENCE_MAX */
    tdm_evidence evidence[TDM_SUSPECT_EVIDENCE_MAX];
    int64_t raised_at;              /* ms since the epoch */
    int32_t fix_due_date;
    bool has_resolution;            /* kind RESOLVED */
    int64_t resolved_at;
    tdm_evidence resolved_by;
    bool has_closure;               /* kind CLOSED */
    tdm_closure closure;
} tdm_suspect_out;

typedef struct tdm_suspect_list {
    tdm_suspect_out *v;
    size_t n;
    size_t cap;
} tdm_suspect_list;

#define TDM_SUSPECT_LIST_INIT {NULL, 0, 0}

/* Empties the list (frees the messages' strings, keeps the array). */
void tdm_suspect_list_reset(tdm_suspect_list *l);
/* Frees everything; the list is TDM_SUSPECT_LIST_INIT again. Accepts NULL. */
void tdm_suspect_list_done(tdm_suspect_list *l);

/* What triggered an evaluation: the record (roster or department) that
 * resolves a suspect, as its evidence, and its time (ms since the epoch:
 * roster updated_at, or 00:00 CST of the department record's date; for a
 * tick of the stream clock, 00:00 CST of that day and dataset
 * TDM_DATASET_ANY with no coordinates). Borrowed. */
typedef struct tdm_suspect_trigger {
    tdm_dataset dataset;
    const tdm_coords *coords;       /* NULL for a tick */
    const avro_value_t *value;      /* the record (for its Source), or NULL */
    int64_t at_ms;
} tdm_suspect_trigger;

/* What the roster knows beyond the household: for the duplicate-person
 * indicator, the other households that list a member. other_household_ids[i]
 * is the sorted list of other households listing members[i] of the
 * evaluated household (n_other[i] of them). NULL: none known. Borrowed. */
typedef struct tdm_suspect_dups {
    const char *const *const *other_household_ids;
    const size_t *n_other;
} tdm_suspect_dups;

typedef struct tdm_suspects tdm_suspects;

/* An empty state. NULL when out of memory. */
tdm_suspects *tdm_suspects_new(void);
/* Accepts NULL; returns NULL. */
tdm_suspects *tdm_suspects_free(tdm_suspects *s);
tdm_suspects *tdm_suspects_copy(const tdm_suspects *s);
bool tdm_suspects_equal(const tdm_suspects *a, const tdm_suspects *b);
/* No fact, no open suspect, no closure mark: the subject needs no record. */
bool tdm_suspects_is_empty(const tdm_suspects *s);

/* Notes what a department record says (dataset CIVIL_AFFAIRS or
 * HUMAN_RESOURCES, value an instance of its reader schema; others and event
 * types no indicator uses: no change). *ret_changed (may be NULL) is true
 * when a fact changed, i.e. the engine must evaluate the household. -EINVAL
 * for a value without the fields it needs; -ENOSPC past the limits; -ENOMEM. */
int tdm_suspects_note_record(tdm_suspects *s, tdm_dataset dataset, const avro_value_t *value,
                             const tdm_coords *coords, bool *ret_changed, td_error *err);

/* Moves src's facts and transfers into dst (a person off the roster whom a
 * household now lists); the newer fact wins, transfers of a year add up.
 * src keeps its open suspects and closure marks. 1 when something moved, 0
 * when nothing; all or nothing on error (-EINVAL for dst == src). */
int tdm_suspects_absorb(tdm_suspects *dst, tdm_suspects *src, td_error *err);

/* Evaluates every enabled suspect rule of ctx->rules for household (NULL:
 * the household left the roster) as of day `today`: appends RAISED for each
 * new contradiction (not open, not closed as DEPARTMENT_DATA_WRONG for the
 * same evidence) and RESOLVED for each open suspect whose contradiction is
 * gone, resolved by trigger; in (rule file order, person key) order. The
 * state records what it raised and resolved. dups may be NULL. */
int tdm_suspects_eval(const tdm_eval_ctx *ctx, const tdm_household *household,
                      const tdm_suspect_dups *dups, int32_t today,
                      const tdm_suspect_trigger *trigger, tdm_suspects *s,
                      tdm_suspect_list *out, td_error *err);

/* The first day after `today` on which tdm_suspects_eval could raise what it
 * cannot raise today (a fact whose grace period ends), or INT32_MAX. */
int32_t tdm_suspects_next_due(const tdm_suspects *s, const tdm_rules *rules, int32_t today);

/* True when id is a suspect id (starts with "sus-"), so a VerificationOutcome
 * naming it goes to tdm_suspects_outcome. */
bool tdm_suspect_id_is(const char *id);

/* Applies a VerificationOutcome (value) naming one of s's open suspects:
 * DEPARTMENT_DATA_WRONG with a reason, by two different people, closes it
 * (one CLOSED message appended) and marks its evidence as wrong. Rejected,
 * state and out untouched, with the DLQ reason in err: -ENOENT (not open
 * here), -EPERM (two-person rule), -EINVAL (another result, or no reason). */
int tdm_suspects_outcome(const tdm_eval_ctx *ctx, const avro_value_t *value,
                         const tdm_household *household, tdm_suspects *s,
                         tdm_suspect_list *out, td_error *err);

/* Open suspects, for tests and the engine's metrics. */
size_t tdm_suspects_open_count(const tdm_suspects *s);

/* Canonical bytes (LMDB values): equal states give equal bytes. Decode
 * refuses anything else with -EINVAL (-ENOTSUP for another format byte). */
size_t tdm_suspects_encoded_size(const tdm_suspects *s);
int tdm_suspects_encode(const tdm_suspects *s, void *buf, size_t size);
int tdm_suspects_decode(const void *buf, size_t len, tdm_suspects **ret, td_error *err);

/* Fills value, an instance of the Suspect schema, from m: every field set.
 * Source: RURAL_REVITALIZATION, ctx_instance, record id = suspect id. */
int tdm_suspect_out_to_avro(const tdm_suspect_out *m, const char *ctx_instance,
                            avro_value_t *value, td_error *err);

#endif
