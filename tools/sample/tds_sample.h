/* tds_sample: Huainan sample data with known answers (issue 6).
 *
 * tds_generate() writes, deterministically from (seed, households, today):
 *
 *   DIR/roster/huainan-roster.csv            the bureau's roster, one row per
 *                                            member, GB18030 without BOM (as
 *                                            deploy/connectors/roster.yaml reads)
 *   DIR/civil_affairs/civil-01.csv           civil affairs events, UTF-8
 *   DIR/medical_insurance/medical-01.csv     settlements, UTF-8 with BOM
 *   DIR/medical_insurance/medical-02.csv     settlements, GB18030 with BOM
 *   DIR/human_resources/hr-01.csv            employment events, GB18030 with BOM
 *   each followed by its marker <file>.done (spooldir `ready: marker`)
 *   DIR/expected/alerts.csv     rule_id,subject_kind,subject,queue,severity,scenario
 *   DIR/expected/rejected.csv   dataset,file,line,reason_class,scenario
 *   DIR/expected/scenarios.csv  scenario,expect,description
 *   DIR/expected/suspects.csv   indicator_id,household_id,subject,queue,scenario,
 *                               after_fix
 *   DIR/roster-fix/huainan-roster-2.csv  a roster re-export of two households
 *                                        that fixes two suspects (+ .done)
 *
 * Column layouts are those of the demo configs (deploy/data/demo-config/).
 * Planted scenarios (docs/sample-data.md) come first in every file; the
 * background households fill up to `households`, never alert and are never
 * suspects. Event dates are relative to `today` (within the trailing year,
 * one planted record older), so the same (seed, households, today) gives
 * byte-identical files.
 * Identity numbers are fake (random birth dates and sequence numbers) with
 * valid check characters, except in the rows planted as bad.
 *
 * Memory is bounded whatever the size: households are written as they are
 * made (the sequence-number table is ~0.7 MB).
 */
#ifndef TDS_SAMPLE_H
#define TDS_SAMPLE_H

#include "td_error.h"

#include <stdint.h>

/* Households the planted scenarios take; `households` must be at least this. */
#define TDS_MIN_HOUSEHOLDS 100

typedef struct tds_options {
    const char *out_dir;   /* created if missing; existing files are replaced */
    uint64_t seed;
    int64_t households;    /* TDS_MIN_HOUSEHOLDS .. 10,000,000 */
    int32_t today;         /* days since 1970-01-01 (China's date) */
} tds_options;

typedef struct tds_stats {
    int64_t households;    /* roster households written (bad ones included) */
    int64_t people;        /* roster member rows */
    int64_t records;       /* department rows (bad ones included) */
    int64_t rejected;      /* rows in expected/rejected.csv */
    int64_t alerts;        /* rows in expected/alerts.csv */
    int64_t suspects;      /* rows in expected/suspects.csv */
} tds_stats;

/* Writes the data set (see above). 0, or a negative errno with the reason in
 * err (a path, never an identity number). ret may be NULL. */
int tds_generate(const tds_options *opt, tds_stats *ret, td_error *err);

#endif
