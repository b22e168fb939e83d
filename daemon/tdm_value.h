/* tdm_value: what tdm_eval (alerts) and tdm_suspect (suspects) share to read
 * their Avro inputs and fill their Avro outputs. Internal to tuodi-matchd's
 * evaluation core: no Kafka, no LMDB, no clock.
 *
 * Readers take a record value (as td_avro_decode gives it) and return 0 or
 * -EINVAL (no such field, or a field of another type); strings are borrowed
 * from the value. Fillers work on a tdm_filler: the first failure is kept in
 * f->rc (with its text in f->err, naming f->what: "Alert", "Suspect") and
 * every later call does nothing, so a whole record is filled and checked
 * once at the end.
 *
 * Threads: no shared state. */
#ifndef TDM_VALUE_H
#define TDM_VALUE_H

#include "td_avro.h"
#include "td_error.h"
#include "tdm_eval.h"

#include <stdbool.h>
#include <stdint.h>

/* ---- reading ---- */

int tdm_value_field(const avro_value_t *rec, const char *name, avro_value_t *ret);
/* A field that may be a ["null", X] union: *present false for null. */
int tdm_value_opt(const avro_value_t *rec, const char *name, avro_value_t *ret, bool *present);
/* A string (or null: *ret NULL). */
int tdm_value_str(const avro_value_t *rec, const char *name, const char **ret);
/* An int or long (or null: *present false). */
int tdm_value_int(const avro_value_t *rec, const char *name, bool *present, int64_t *ret);
/* An enum's symbol (or null: *ret NULL). */
int tdm_value_enum(const avro_value_t *rec, const char *name, const char **ret);

/* strdup of s (NULL stays NULL); *oom set when out of memory. */
char *tdm_value_dup(const char *s, bool *oom);

/* s without leading and trailing ASCII white space, as [*b, *e). */
void tdm_value_trim(const char *s, const char **b, const char **e);

/* The fields of a department record that evaluation reads. Strings borrowed
 * from the value. */
typedef struct tdm_record {
    tdm_dataset dataset;
    const char *person_key;
    const char *name;
    const char *village_code;
    int32_t date;
    const char *event_type;         /* event type or settlement kind */
    bool has_amount;                /* the amount the evidence shows */
    int64_t amount_fen;
    int64_t fields[5];              /* by tdm_field */
    bool has_field[5];
    int disability_grade;           /* 1..4; 0: none or not valid */
    const char *src_department;
    const char *src_instance;
    const char *src_record_id;
    const char *src_location;
    bool has_src_row;
    int64_t src_row;
} tdm_record;

/* Reads a MedicalSettlement, CivilAffairsEvent or EmploymentEvent. -EINVAL
 * (reason in err, never a person key) for a value that lacks a field. */
int tdm_record_read(tdm_dataset dataset, const avro_value_t *value, tdm_record *r,
                    td_error *err);

/* The record as evidence at coords (NULL: "" 0 0); strings borrowed from r. */
void tdm_record_evidence(const tdm_record *r, const tdm_coords *coords, tdm_evidence *ret);

/* A VerificationOutcome as both alerts and suspects check it. */
typedef struct tdm_outcome_in {
    const char *alert_id;           /* the alert or suspect id */
    tdm_outcome outcome;
    tdm_category category;          /* NONE: null (or unknown) */
    const char *reason;             /* NULL: null */
    bool has_reason;                /* reason holds more than white space */
    int32_t visit_date;
    int64_t recorded_at;
    const char *outcome_id;         /* source.record_id */
} tdm_outcome_in;

/* Reads an outcome and applies what holds for every outcome: every field
 * there (-EINVAL), the two-person rule (-EPERM: verifier and reviewer both
 * given, not blank, and different after trimming white space), a known
 * result (-EINVAL). The DLQ reason in err. */
int tdm_outcome_read(const avro_value_t *value, tdm_outcome_in *ret, td_error *err);

/* The VerificationResult symbol of o ("UNKNOWN" for anything else). */
const char *tdm_outcome_symbol(tdm_outcome o);

/* ---- evidence ---- */

/* Frees e's strings (not e). */
void tdm_evidence_done(tdm_evidence *e);
/* A deep copy of src into dst (whose strings are not freed first); a NULL
 * topic becomes "". -ENOMEM (dst then holds what was copied: free it). */
int tdm_evidence_copy(tdm_evidence *dst, const tdm_evidence *src);
/* The schema's Dataset symbol: ROSTER, CIVIL_AFFAIRS, ... ; UNKNOWN. */
const char *tdm_dataset_symbol(tdm_dataset d);

/* ---- filling ---- */

typedef struct tdm_filler {
    td_error *err;
    int rc;
    const char *what;               /* "Alert", "Suspect": in messages */
} tdm_filler;

avro_value_t *tdm_fill_get(tdm_filler *f, avro_value_t *rec, const char *name,
                           avro_value_t *ret);
void tdm_fill_str(tdm_filler *f, avro_value_t *rec, const char *name, const char *s);
/* Sets union field name to its non-null branch (into *ret, returns true) or
 * to null (returns false). */
bool tdm_fill_branch(tdm_filler *f, avro_value_t *rec, const char *name, bool present,
                     avro_value_t *ret);
void tdm_fill_opt_str(tdm_filler *f, avro_value_t *rec, const char *name, const char *s);
void tdm_fill_enum(tdm_filler *f, avro_value_t *rec, const char *name, const char *sym);
void tdm_fill_enum_value(tdm_filler *f, avro_value_t *v, const char *name, const char *sym);
void tdm_fill_opt_enum(tdm_filler *f, avro_value_t *rec, const char *name, const char *sym);
void tdm_fill_long(tdm_filler *f, avro_value_t *rec, const char *name, int64_t x);
void tdm_fill_int(tdm_filler *f, avro_value_t *rec, const char *name, int32_t x);
void tdm_fill_source(tdm_filler *f, avro_value_t *rec, const char *department,
                     const char *instance, const char *record_id, const char *location,
                     bool has_row, int64_t row);
/* An Evidence record (alert.avsc and suspect.avsc share it). */
void tdm_fill_evidence(tdm_filler *f, avro_value_t *item, const tdm_evidence *e);
/* A Closure record. */
void tdm_fill_closure(tdm_filler *f, avro_value_t *rec, const tdm_closure *c);

#endif
