/* tdc_dataset: turns source rows into one Avro record type, or rejects them.
 *
 * Four datasets: civil_affairs (CivilAffairsEvent), medical_insurance
 * (MedicalSettlement), human_resources (EmploymentEvent), roster (Household:
 * one row per member, grouped into one record per household). Column names
 * and department code values come from the config (tdc_mapping_config), so a
 * department with other column names or codes needs no new code.
 *
 * The engine calls, for each row, tdc_dataset_map(ds, row, before, sink):
 * the dataset calls sink->record() for each record it completes (zero or
 * more) and sink->reject() for each row it refuses (zero or more, possibly
 * rows it buffered earlier). Rows of the department datasets give one record
 * or one rejection each. The roster buffers a household's rows and emits the
 * Household when the next household begins (tdc_dataset_end_unit() flushes
 * the last one at the end of a file); a household with any bad member row is
 * rejected whole (every row, each with the reason), never published partial.
 *
 * Deletes: a row deleted in the source (tdc_row.deleted: the postgres
 * source's logical mode) becomes what its dataset defines (the
 * delete_reason of the dataset's description, datasets/tdc_mapping.h):
 * today, in all four, a rejection with the row as a whole ("") and a
 * reason that begins "deleted in the source" and says what the department
 * does instead (e.g. record a cancellation as a new row); it is counted
 * and dead-lettered like any rejection (tuodi.stage: validate). The
 * roster first emits (or rejects) the household it is reading.
 *
 * Positions: while rows are buffered, the engine must not commit the source's
 * position past the first buffered row; tdc_dataset_safe_position() returns
 * the position before that row (the `before` given with it), or NULL when
 * nothing is buffered.
 *
 * Validation (reasons name the column; identity numbers never appear in
 * them): identity numbers normalised (15 -> 18 digits, check character, real
 * birth date) and optionally pseudonymised with HMAC-SHA256; dates in the
 * departments' formats; money as yuan with at most two decimals -> fen;
 * required fields; code values mapped to enum symbols; village codes of 12
 * digits.
 */
#ifndef TDC_DATASET_H
#define TDC_DATASET_H

#include "td_avro.h"
#include "td_config.h"
#include "td_error.h"
#include "tdc_row.h"

#include <avro.h>
#include <stdio.h>

typedef struct tdc_dataset tdc_dataset;

/* Where the dataset's output goes (the engine). Each callback returns 0 or a
 * negative errno, which tdc_dataset_map() passes back. */
typedef struct tdc_sink {
    /* key: the Kafka key (person key, or household id for the roster), NUL-
     * terminated. value: an instance of the dataset's schema, borrowed for
     * the call. first/last: the rows it was built from (for logs and the
     * evidence trail), every one of them: first == last, or first..last
     * point into one array (the roster's household). The sink may refuse
     * the record (too big for Kafka) by rejecting each of those rows itself
     * and returning 0: counts stay rows = records' rows + rejections. */
    int (*record)(void *opaque, const char *key, avro_value_t *value,
                  const tdc_row *first, const tdc_row *last);
    /* column: the column at fault ("" for the row as a whole); reason: a
     * sentence with identity numbers masked. row->raw is the dead letter. */
    int (*reject)(void *opaque, const tdc_row *row, const char *column, const char *reason);
    void *opaque;
} tdc_sink;

typedef enum tdc_dataset_kind {
    TDC_DATASET_CIVIL_AFFAIRS,
    TDC_DATASET_MEDICAL_INSURANCE,
    TDC_DATASET_HUMAN_RESOURCES,
    TDC_DATASET_ROSTER,
} tdc_dataset_kind;

/* Names as written in configs: "civil_affairs", ... */
extern const char *const tdc_dataset_kind_names[];

/* ------------------------------------------------------------ the API --- */

/* The `mapping:` section of a connector's config. Every key is optional:
 * without any, the dataset's defaults apply (docs/connector-datasets.md lists
 * every field with its default columns, kind and codes). Field paths are the
 * schema's ("settlement_date", "source.record_id", "members[].name").
 *
 *   columns:    field -> source column name; replaces the default names
 *   codes:      field -> (department value -> enum symbol, or for other
 *               kinds a replacement text such as 一级 -> 1); a field's
 *               codes replace its default codes; "" is the empty cell
 *   constants:  field -> a value for every record instead of a column (in
 *               the column's format, or an enum symbol)
 *   required:   nullable fields that every row must give
 *   pseudonymize.key_file: person keys become HMAC-SHA256(key, normalised
 *               identity number) as 64 hex characters; the file's bytes,
 *               exactly (at least 32, not readable by others), are the key
 *
 * tdc_dataset_new() checks it (unknown fields, symbols, bad constants, the
 * key file), reporting each problem with the config's file:line:col; nothing
 * of the struct is kept after that call. */
struct tdc_mapping_config {
    td_cfg_map columns;
    td_cfg_maps codes;
    td_cfg_map constants;
    char **required;
    size_t nrequired;
    struct tdc_pseudonymize_config {
        char *key_file;
    } pseudonymize;
};

extern const td_cfg_entry tdc_mapping_config_table[];

/* A dataset is used by one thread at a time; tdc_dataset_new() may build a
 * new one elsewhere (a reload) while the old one runs.
 *
 * Builds the dataset of kind over schema (that kind's record: see
 * tdc_dataset_schema_file(); borrowed, it must outlive the dataset), with cfg
 * (NULL: the defaults). connector_instance (copied) goes into every record's
 * source. Returns 0, or -EINVAL (config or schema problems, one per line in
 * err), -errno (key file unreadable) or -ENOMEM. */
int tdc_dataset_new(tdc_dataset_kind kind, const struct tdc_mapping_config *cfg,
                    const td_avro_schema *schema, const char *connector_instance,
                    tdc_dataset **ret, td_error *err);

/* Maps one row: calls sink->record() for each record completed and
 * sink->reject() for each row refused (see the top of this file). before is
 * the source position just before row (what tdc_dataset_safe_position()
 * returns while the row is buffered; copied; the roster needs it, NULL there
 * stands for a position of kind NONE). Columns are resolved once per
 * header: a new unit, or a new columns array. Bad data is never an error
 * here: it always goes to sink->reject() with the column ("" for the row as a
 * whole) and a reason that names the column and never holds an identity
 * number. Returns 0, or a negative errno: the sink's own return, or -ENOMEM;
 * err then says which. */
int tdc_dataset_map(tdc_dataset *ds, const tdc_row *row, const tdc_position *before,
                    const tdc_sink *sink, td_error *err);

/* The unit (file) ended: emits or rejects what is buffered and forgets the
 * header. Call it before the position that says FINISHED is committed. */
int tdc_dataset_end_unit(tdc_dataset *ds, const tdc_sink *sink, td_error *err);

/* The position before the first row still buffered, or NULL when nothing is
 * (always NULL for the department datasets). Valid until the next call. */
const tdc_position *tdc_dataset_safe_position(const tdc_dataset *ds);

/* Why every row of the current unit is rejected (its header lacks a required
 * column, or a column an all-or-none record such as the roster's income
 * needs when the header has others of it, or holds a mapped column twice),
 * or NULL. Missing columns are named with the other names looked for. The same text goes with
 * each of those rows' rejections, so the engine may log it once per unit. */
const char *tdc_dataset_header_problem(const tdc_dataset *ds);

/* Drops buffered rows without emitting anything and forgets the header
 * (after the engine rewound its source). */
void tdc_dataset_reset(tdc_dataset *ds);

/* Accepts NULL; returns NULL. Wipes the pseudonym key. */
tdc_dataset *tdc_dataset_free(tdc_dataset *ds);

/* "Today" in China (days since 1970-01-01) for the checks that refuse dates
 * in the future; by default the clock's, taken at each new header. For tests
 * and replays. */
void tdc_dataset_set_today(tdc_dataset *ds, int32_t days);

/* tuodi.civil_affairs.events, tuodi.medical_insurance.settlements,
 * tuodi.human_resources.events, tuodi.roster.households; NULL if unknown. */
const char *tdc_dataset_default_topic(tdc_dataset_kind kind);
/* civil_affairs_event.avsc, medical_settlement.avsc, employment_event.avsc,
 * household.avsc; NULL if unknown. */
const char *tdc_dataset_schema_file(tdc_dataset_kind kind);
/* cn.tuodi.CivilAffairsEvent, ...; NULL if unknown. */
const char *tdc_dataset_record_name(tdc_dataset_kind kind);

/* Writes the Markdown reference of kind's fields (path, default columns,
 * kind, required, default codes) to f, as docs/connector-datasets.md shows
 * it. 0, -EINVAL or -EIO. */
int tdc_dataset_write_reference(tdc_dataset_kind kind, FILE *f);

#endif
