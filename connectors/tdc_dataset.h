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

typedef struct tdc_dataset tdc_dataset;

/* Where the dataset's output goes (the engine). Each callback returns 0 or a
 * negative errno, which tdc_dataset_map() passes back. */
typedef struct tdc_sink {
    /* key: the Kafka key (person key, or household id for the roster), NUL-
     * terminated. value: an instance of the dataset's schema, borrowed for
     * the call. first/last: the rows it was built from (for logs and the
     * evidence trail). */
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

#endif
