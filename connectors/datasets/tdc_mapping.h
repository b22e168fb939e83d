/* tdc_mapping: the table-driven mapping engine behind tdc_dataset.h.
 *
 * Private to connectors/datasets/. Each dataset is a tdc_dataset_desc: a
 * static table of target fields (schema path, kind, flags, default column
 * names, default codes) plus an optional cross-field check. The engine in
 * tdc_dataset.c resolves the table against the schema and the config once
 * (tdc_dataset_new), the columns once per unit header, and then per row only
 * reads texts, converts them and sets avro values by index.
 *
 * Threads: a tdc_dataset is used by one thread at a time.
 */
#ifndef TDC_MAPPING_H
#define TDC_MAPPING_H

#include "td_idnum.h"
#include "tdc_dataset.h"

#include <openssl/evp.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a target field holds and how its text is converted. */
typedef enum tdc_fkind {
    TDC_FK_PERSON_KEY, /* identity number -> normal form, or its HMAC pseudonym */
    TDC_FK_STRING,     /* text, surrounding spaces trimmed */
    TDC_FK_DATE,       /* td_date_parse formats -> days */
    TDC_FK_MONEY,      /* yuan, at most two decimals -> fen */
    TDC_FK_INT,        /* decimal integer in [min, max] */
    TDC_FK_BOOL,       /* 1/0, 是/否, Y/N, yes/no, true/false */
    TDC_FK_ENUM,       /* a code (or the symbol itself) -> enum symbol */
    TDC_FK_VILLAGE,    /* 12-digit village code, not ending in 000 */
    TDC_FK_RECORD_ID,  /* source.record_id: a column, the source's id, or derived */
    TDC_FK_RISKS,      /* a list of risk codes -> array of strings */
    TDC_FK_TIMESTAMP,  /* date and time in China Standard Time -> ms; derived when absent */
    TDC_FK_BIRTH_DATE, /* derived: the birth date in members[].person_key's number */
    TDC_FK_DERIVED,    /* set by the dataset's code (household_size, source.*) */
} tdc_fkind;

/* Spec flags. */
#define TDC_SPEC_REQUIRED      0x01u /* every row must give a value */
#define TDC_SPEC_NONNEG        0x02u /* money: no negative amounts */
#define TDC_SPEC_MEMBER        0x04u /* roster: a field of members[] */
#define TDC_SPEC_KEY           0x08u /* the Kafka key (person key / household id) */
#define TDC_SPEC_WHEN_REQUIRED 0x10u /* required when `when` has one of when_symbols */
#define TDC_SPEC_WHEN_ONLY     0x20u /* null unless `when` has one of when_symbols */
#define TDC_SPEC_FIXED         0x40u /* not in `columns:` (only `constants:`) */
#define TDC_SPEC_FALLBACK      0x80u /* not nullable, but the dataset fills it when absent */

typedef struct tdc_field_spec {
    const char *path;                 /* "settlement_date", "income.year", "members[].name" */
    tdc_fkind kind;
    unsigned flags;
    const char *const *columns;       /* default column names, first found wins; NULL-ended */
    const char *const *codes;         /* default codes: value, symbol/value pairs; NULL-ended */
    const char *constant;             /* default constant text (e.g. the department), or NULL */
    int64_t min, max;                 /* TDC_FK_INT */
    const char *when;                 /* path of an earlier enum field */
    const char *const *when_symbols;  /* NULL-ended */
    const char *doc;                  /* one line for the reference */
} tdc_field_spec;

#define TDC_MAX_FIELDS 40
#define TDC_MAX_RISKS 5
#define TDC_REASON_MAX 512

/* One converted value. Texts point into the row being mapped (or into the
 * dataset's copies of buffered rows) and are not NUL-terminated. */
typedef struct tdc_val {
    bool present;
    int64_t i;                        /* date, money, int, bool, enum index, timestamp */
    const char *s;                    /* string, village, record id, household id */
    size_t len;
    char key[TD_PSEUDONYM_HEX_LEN + 1]; /* person key */
    char id[TD_IDNUM_LEN + 1];          /* its normalised identity number */
    unsigned nitems;                    /* risks */
    const char *items[TDC_MAX_RISKS];
    size_t item_lens[TDC_MAX_RISKS];
} tdc_val;

/* A code: department text -> enum symbol index (sym >= 0) or replacement text. */
typedef struct tdc_code {
    char *from;
    size_t from_len;
    char *to;
    size_t to_len;
    int sym;
} tdc_code;

/* A target field, resolved against the schema and the config. */
typedef struct tdc_field {
    const tdc_field_spec *spec;
    char *column;             /* configured column name, NULL: the defaults */
    char *column_origin;      /* its file:line:col */
    tdc_code *codes;          /* sorted by (from_len, from) */
    size_t ncodes;
    char *codes_list;         /* "住院, 门诊, ..." for reasons */
    bool has_const;
    char *const_text;
    tdc_val constv;
    bool required;
    bool nullable;            /* the leaf is ["null", T] */
    int when;                 /* index of the condition field, -1 */
    uint64_t when_mask;       /* condition symbols, by index */
    char when_names[128];     /* "TEMP_ASSISTANCE_GRANTED" for reasons */
    int group;                /* index of the nullable record it lives in (income), -1 */
    size_t nsteps;            /* from the base record (root, or a member) */
    size_t steps[3];
    const td_avro_node *leaf; /* after the nullable union */
    /* per unit */
    int col;                  /* header index, -1 when absent */
    const char *col_name;     /* header name used in reasons */
} tdc_field;

/* A nullable record field holding other fields (Household.income). */
typedef struct tdc_group {
    size_t step;              /* index in the root record */
} tdc_group;

typedef struct tdc_dataset_desc {
    tdc_dataset_kind kind;
    const char *record;       /* full name of the Avro record */
    const char *schema_file;
    const char *topic;
    const tdc_field_spec *fields;
    size_t nfields;
    /* Cross-field checks on the converted values of one row (department
     * datasets): 0, or 1 after tdc_ds_reject_reason() set the reason. */
    int (*check)(tdc_dataset *ds, const tdc_val *vals);
    /* What a row deleted in the source (tdc_row.deleted, postgres logical
     * mode) becomes: NULL would map it like any row; a reason (starting
     * "deleted in the source", no identity number) rejects it with that
     * reason. Every dataset today gives a reason: none of the records
     * can say "withdrawn". */
    const char *delete_reason;
} tdc_dataset_desc;

extern const tdc_dataset_desc tdc_civil_affairs_desc;
extern const tdc_dataset_desc tdc_medical_desc;
extern const tdc_dataset_desc tdc_human_resources_desc;
extern const tdc_dataset_desc tdc_roster_desc;

/* A copied row of the roster's buffer (offsets into the arena). */
typedef struct tdc_brow {
    size_t unit_off, raw_off, raw_len, fields_off, nfields, srid_off, reason_off;
    bool has_srid, has_reason;
    int64_t row, line;
    tdc_position after;
} tdc_brow;

/* Household ids that ended in this unit (roster): an open-addressing set. */
typedef struct tdc_idset {
    struct tdc_idslot {
        uint64_t hash;        /* 0: empty */
        size_t off, len;      /* into text */
        int64_t first_row, last_row;
    } *slots;
    size_t cap, n;
    char *text;
    size_t tlen, tcap;
} tdc_idset;

struct tdc_dataset {
    const tdc_dataset_desc *desc;
    const td_avro_schema *schema;
    char *instance;
    int department;           /* Department symbol index */
    EVP_MAC_CTX *hmac;        /* keyed HMAC-SHA256, NULL: no pseudonyms */
    int32_t today;            /* China's date, for "not in the future" */
    bool today_fixed;

    tdc_field fields[TDC_MAX_FIELDS];
    size_t nfields;
    tdc_group groups[2];
    size_t ngroups;
    size_t source_step;       /* root index of `source` */
    size_t src_steps[5];      /* department, connector_instance, record_id, location, row */
    size_t members_step;      /* roster: root index of `members` */
    int key_field;            /* the Kafka key's field */
    int rid_field;            /* source.record_id's field, -1 */

    avro_value_t value;
    bool have_value;

    /* the current unit's header */
    const char *const *hdr_columns;
    size_t hdr_ncolumns;
    char *hdr_unit;
    bool hdr_valid;
    char hdr_problem[TDC_REASON_MAX];
    const char *hdr_problem_column;
    char *hdr_copy;           /* the header's names, copied (roster views) */
    const char **hdr_names;

    /* per row */
    tdc_val vals[TDC_MAX_FIELDS];
    char reason[TDC_REASON_MAX];
    const char *reason_column;
    char *tmp;                /* NUL-terminated copies for avro strings */
    size_t tmp_cap;
    char record_id[TDC_UNIT_MAX + 64];

    /* roster */
    struct tdc_roster_state {
        bool active;              /* a household is buffered */
        char *hid;                /* its id (copy) */
        size_t hid_len, hid_cap;
        bool reappeared;          /* its id ended earlier in this unit */
        int64_t prev_first, prev_last;
        tdc_position before;      /* before its first row */
        char *arena;
        size_t alen, acap;
        tdc_brow *rows;
        size_t nrows, caprows;
        tdc_row *views;           /* rebuilt at flush */
        const char **vfields;
        size_t *vlens;
        size_t vcap, vfcap, vlcap;
        tdc_val *mvals;           /* nrows x nfields */
        size_t mcap;
        tdc_idset seen;
        char *big_hid;            /* a household rejected for its size: later rows too */
        size_t big_len, big_cap;
        int sym_male, sym_female; /* Sex symbols of members[].id_sex */
    } ro;
};

/* --- engine internals used by the dataset files ----------------------- */

/* Sets ds->reason (and ds->reason_column = column, may be "") from fmt. */
/* Is row's header the one resolved last (same columns array, same unit)? */
bool tdc_ds_same_header(const tdc_dataset *ds, const tdc_row *row);
/* The column name of field (for reasons): the header's, else the configured
 * or first default name. */
const char *tdc_colname_of(const tdc_dataset *ds, int field);
/* Checks the header (resolving it when new) and the row's number of fields.
 * 0, 1 (rejected: ds->reason) or -ENOMEM. */
int tdc_ds_row_shape(tdc_dataset *ds, const tdc_row *row);
void tdc_ds_reject_reason(tdc_dataset *ds, const char *column, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The field whose spec path is path, -1 if none. */
int tdc_ds_field_index(const tdc_dataset *ds, const char *path);

/* Converts the fields of row selected by `which` (0: all, 1: household
 * fields only, 2: member fields only) into vals. 0 when every field is good,
 * 1 (a rejection: ds->reason, ds->reason_column) or a negative errno. */
enum { TDC_PARSE_ALL = 0, TDC_PARSE_HOUSEHOLD = 1, TDC_PARSE_MEMBER = 2 };
int tdc_ds_parse_row(tdc_dataset *ds, const tdc_row *row, tdc_val *vals, int which);

/* Sets the fields of rec (the root record, or a member record) from vals.
 * 0 or a negative errno. */
int tdc_ds_write_fields(tdc_dataset *ds, avro_value_t *rec, const tdc_val *vals, int which);
/* Fills rec's source record from row; record_id may be NULL (then derived). */
int tdc_ds_write_source(tdc_dataset *ds, avro_value_t *root, const tdc_row *row,
                        const char *record_id, size_t record_id_len);
/* Sets a string value from a text that need not be NUL-terminated. */
int tdc_ds_set_string(tdc_dataset *ds, avro_value_t *v, const char *s, size_t len);

/* Text helpers. */
void tdc_trim(const char **s, size_t *len);
/* Quotes value for a reason: cut, escaped, identity numbers masked. */
const char *tdc_quote(char *buf, size_t size, const char *s, size_t len);

/* Roster hooks (tdc_roster.c). */
int tdc_roster_init(tdc_dataset *ds, td_error *err);
int tdc_roster_map(tdc_dataset *ds, const tdc_row *row, const tdc_position *before,
                   const tdc_sink *sink, td_error *err);
int tdc_roster_flush(tdc_dataset *ds, const tdc_sink *sink, td_error *err);
void tdc_roster_reset_unit(tdc_dataset *ds);
void tdc_roster_free(tdc_dataset *ds);

#endif
