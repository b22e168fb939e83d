/* tdm_roster: the roster index in the state store (docs/matchd-design.md).
 *
 * Three databases:
 *   'household'  household_id -> the Household record's single-object Avro
 *                encoding exactly as received from the roster topic (decoded
 *                on lookup with the registry, so older writer schemas resolve
 *                to the current one);
 *   'person'     person_key -> household_id;
 *   'person_all' person_key -> every household listing the person, sorted,
 *                each followed by a NUL (one person on two households is bad
 *                input the suspicious-data list reports: tdm_suspect.h,
 *                duplicate_person). A store from before this database gets
 *                it filled from 'household' by tdm_roster_new.
 * The roster topic's offsets are stored with them by the caller
 * (tdm_store_offset_set in the same transaction as tdm_roster_apply).
 *
 * An update replaces the old entry completely. A person link of the old
 * entry that the new one lacks is removed only if it still points to this
 * household: a member who moved from A to B keeps the link to B whichever of
 * A's and B's updates is applied first. A person key in two households at
 * once (bad input) links to the household applied last.
 *
 * Errors as in td_error.h: -EINVAL (empty or too long key, the record's
 * household_id differs from the key, an empty or too long person key), the
 * decoder's codes for an undecodable value (-EBADMSG, -ENOENT for an unknown
 * writer schema, -EINVAL), the store's codes. A failed apply changes nothing
 * that the caller commits only if the caller aborts the transaction: apply
 * writes in place, so abort on error. Texts never hold a person key or name.
 *
 * Threads: a roster (it holds decoders) is used by one thread at a time.
 */
#ifndef TDM_ROSTER_H
#define TDM_ROSTER_H

#include "td_avro.h"
#include "td_error.h"
#include "tdm_store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TDM_ROSTER_SCHEMA "cn.tuodi.Household"

/* Enums in the order of schemas/household.avsc's symbols (checked by
 * tdm_roster_new against the reader schema). */
typedef enum tdm_r_household_type {
    TDM_R_HH_TYPE_UNKNOWN, TDM_R_HH_POVERTY_ALLEVIATED, TDM_R_HH_ORDINARY,
} tdm_r_household_type;

typedef enum tdm_monitoring_state {
    TDM_MON_UNKNOWN, TDM_MON_NOT_MONITORED, TDM_MON_MONITORED, TDM_MON_RISK_ELIMINATED,
} tdm_monitoring_state;

typedef enum tdm_monitoring_category {
    TDM_CAT_NONE = -1, /* null in the record */
    TDM_CAT_UNKNOWN, TDM_CAT_UNSTABLE_ALLEVIATED, TDM_CAT_MARGINAL, TDM_CAT_SUDDEN_HARDSHIP,
} tdm_monitoring_category;

typedef enum tdm_relation {
    TDM_REL_UNKNOWN, TDM_REL_HEAD, TDM_REL_SPOUSE, TDM_REL_CHILD, TDM_REL_CHILD_IN_LAW,
    TDM_REL_GRANDCHILD, TDM_REL_PARENT, TDM_REL_PARENT_IN_LAW, TDM_REL_GRANDPARENT,
    TDM_REL_SIBLING, TDM_REL_OTHER,
} tdm_relation;

typedef enum tdm_r_labour {
    TDM_R_LABOUR_UNKNOWN, TDM_R_LABOUR_NORMAL, TDM_R_LABOUR_SKILLED, TDM_R_LABOUR_WEAK,
    TDM_R_LABOUR_LOST, TDM_R_LABOUR_NONE,
} tdm_r_labour;

typedef struct tdm_member {
    const char *person_key;
    const char *name;
    int32_t birth_date;        /* days since 1970-01-01 */
    tdm_relation relation;
    tdm_r_labour labour;
    int disability_grade;      /* 1-4, 0 when none is certified */
    int in_school;             /* 1 yes, 0 no, -1 not said */
    /* Household v2 (the suspicious-data list); older writers leave them unsaid */
    int sex;                   /* roster's 性别: TDM_SEX_*, TDM_SEX_UNSAID when null */
    int id_sex;                /* from the identity number: TDM_SEX_*, UNSAID when null */
    bool has_recorded_birth_date;
    int32_t recorded_birth_date; /* roster's own 出生日期 column */
    int public_welfare_job;    /* 1 yes, 0 no, -1 not said */
} tdm_member;

/* Member.sex / id_sex: the schema's Sex symbols in order, or UNSAID (null). */
enum { TDM_SEX_UNSAID = -1, TDM_SEX_UNKNOWN = 0, TDM_SEX_MALE = 1, TDM_SEX_FEMALE = 2 };

/* A decoded household. Strings are NUL-terminated and owned by the view;
 * everything stays valid until the view is filled again or released with
 * tdm_household_done(). Start it zeroed (TDM_HOUSEHOLD_INIT); reusing one
 * view from lookup to lookup does not allocate once warm. */
typedef struct tdm_household {
    const char *household_id;
    const char *village_code;
    char county[7];            /* the first 6 digits of village_code, "" if shorter */
    char township[10];         /* the first 9, "" if shorter */
    const char *grid_id;
    tdm_r_household_type type;
    tdm_monitoring_state monitoring;
    tdm_monitoring_category category;
    bool has_identified_date;
    int32_t identified_date;
    bool has_income;           /* false: no income rule fires */
    int32_t income_year;
    int64_t income_annual_fen;
    int64_t income_per_capita_fen;
    int32_t household_size;
    const tdm_member *members; /* the head first, as in the record */
    size_t nmembers;
    const char *head_name;     /* the HEAD member's name, NULL if none */
    const char *const *risks;  /* national risk-type codes, main risk first */
    size_t nrisks;
    int64_t updated_at;        /* ms since the epoch */
    int dibao;                 /* roster's 享受低保: 1 yes, 0 no, -1 not said */
    int tekun;                 /* roster's 特困供养: 1 yes, 0 no, -1 not said */

    /* private */
    tdm_member *member_buf;
    size_t member_cap;
    const char **risk_buf;
    size_t risk_cap;
    char *text;
    size_t text_cap;
} tdm_household;

#define TDM_HOUSEHOLD_INIT {0}

/* Frees what view holds and zeroes it. Accepts NULL. */
void tdm_household_done(tdm_household *view);

typedef struct tdm_roster tdm_roster;

/* A roster over store (opening its databases, so call it outside a write
 * transaction; it fills an empty 'person_all' from 'household' in a
 * transaction of its own). reg holds the Household schemas (current and historical); the
 * reader is its TDM_ROSTER_SCHEMA. Borrows store and reg: both outlive the
 * roster. */
int tdm_roster_new(tdm_store *store, const td_avro_registry *reg, tdm_roster **ret,
                   td_error *err);
tdm_roster *tdm_roster_free(tdm_roster *r);

/* Applies one record of the roster topic in txn (a write transaction): key is
 * the household id; value NULL is a tombstone (the household and its person
 * links are removed; 0 if it was not there), else the single-object encoding
 * of a Household whose household_id equals key, which replaces the old
 * entry. On error, abort txn. */
int tdm_roster_apply(tdm_roster *r, tdm_txn *txn, const void *key, size_t key_len,
                     const void *value, size_t value_len, td_error *err);

/* The household of person_key, copied NUL-terminated into buf (size bytes,
 * at least tdm_store_max_key_len + 1 suffices). 0, -ENOENT when the person
 * is not on the roster, -ERANGE when buf is too small. */
int tdm_roster_household_of(tdm_roster *r, tdm_txn *txn, const char *person_key, char *buf,
                            size_t size, td_error *err);

/* Calls fn for each household listing person_key, in byte order of the ids
 * (NUL-terminated, valid during the call), until fn returns non-zero (that
 * value is returned) or the end (0). A person not on the roster: 0, no
 * call. */
typedef int (*tdm_roster_each_fn)(const char *household_id, void *opaque);
int tdm_roster_households_of(tdm_roster *r, tdm_txn *txn, const char *person_key,
                             tdm_roster_each_fn fn, void *opaque, td_error *err);

/* Decodes the household into view. 0, -ENOENT when not on the roster, or the
 * decoder's error for a stored entry it cannot read. */
int tdm_roster_get(tdm_roster *r, tdm_txn *txn, const char *household_id, tdm_household *view,
                   td_error *err);

/* Households and persons on the roster as txn sees it. */
int tdm_roster_count(tdm_roster *r, tdm_txn *txn, size_t *ret_households, size_t *ret_persons,
                     td_error *err);

#endif
