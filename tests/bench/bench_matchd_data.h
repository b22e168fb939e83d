/* bench_matchd_data: the synthetic Huainan roster and department records of
 * the tuodi-matchd benchmark, and the alerts they must produce.
 *
 * Persons are numbered 0..persons-1 on the roster (households of 3, the last
 * one of 1 to 3) and persons.. off the roster. Person i's identity number is
 * 18 characters with a valid check character, unique per i (birth date from
 * i / 1000, sequence i % 1000), with the household's county (340421 凤台县,
 * 340422 寿县, 340406 潘集区) as its area code. Villages are 12-digit codes
 * of those counties.
 *
 * Department records (for R records, e.g. 1,000,000), all dated within the
 * 330 days before the day the generator is created, so that every rule
 * window covers them:
 *   90%  MedicalSettlement of roster members: 3 per household, one per
 *        member, all of a household on one date. Every 25th household's
 *        three bills sum to 24,000-27,000 yuan (over every threshold of the
 *        medical-oop-365d rule: 5,000 for 脱贫户 and monitored households,
 *        20,000 or half the annual income for the others) -> 1 ALERT each;
 *        the rest sum to at most 3,600 yuan (under every threshold) -> none.
 *   5%   MedicalSettlement of people off the roster (with a village), 2 per
 *        person on one date; every 20th person's sum 24,000 yuan (over the
 *        20,000 of "everyone else") -> 1 ALERT each; the rest at most
 *        3,000 yuan -> none.
 *   2%   CivilAffairsEvent DIBAO_APPLIED of one member of distinct roster
 *        households (no other records) -> 1 ALERT each (dibao-tekun).
 *   2%   CivilAffairsEvent TEMP_ASSISTANCE_GRANTED of 300 yuan (under the
 *        1,000 of temp-assistance) for members of other households -> no
 *        alert; those households' roster income is 1 yuan in the records'
 *        year (no monitoring line: no alert), so each raises one suspect
 *        (income-below-transfers) at its first grant.
 *   1%   CivilAffairsEvent DIBAO_APPLIED of distinct people off the roster,
 *        with a village -> 1 ALERT each.
 * No household gets records of two departments, so the multi-department
 * rule never changes a severity, and every subject gets at most one alert
 * per rule (the others would be suppressed). Household incomes are at least
 * 9,000 yuan per capita (over the 2023 line of 7,900), so the roster itself
 * raises no alert. The record streams are interleaved in proportion.
 *
 * Nothing here logs or prints an identity number. */
#ifndef BENCH_MATCHD_DATA_H
#define BENCH_MATCHD_DATA_H

#include "td_avro.h"
#include "td_error.h"

#include <stddef.h>
#include <stdint.h>

#define BMD_COUNTIES 3
extern const char *const bmd_counties[BMD_COUNTIES];

enum bmd_topic { BMD_ROSTER, BMD_MEDICAL, BMD_CIVIL };

/* Called for every record made: key (UTF-8, not NUL-terminated in general)
 * and the single-object encoded value, both valid only during the call.
 * Returns 0 or a negative errno, which stops the generation. */
typedef int (*bmd_emit_fn)(void *opaque, enum bmd_topic topic, const char *key, size_t key_len,
                           const void *value, size_t value_len);

/* What the department records must produce. */
typedef struct bmd_expect {
    long medical_records, civil_records;
    long alerts;                     /* ALERT messages in all */
    long medical_alerts;             /* rule medical-oop-365d */
    long dibao_alerts;               /* rule dibao-tekun */
    long per_county[BMD_COUNTIES];   /* ALERT messages per county queue */
} bmd_expect;

typedef struct bmd_gen bmd_gen;

/* A generator for `persons` roster persons and `records` department
 * records. reg must hold the project's schemas and outlive the generator.
 * -EINVAL if the numbers do not fit the layout above (records must be at
 * most about persons and at least 100). */
int bmd_gen_new(const td_avro_registry *reg, long persons, long records, bmd_gen **ret,
                td_error *err);
/* Accepts NULL; returns NULL. */
bmd_gen *bmd_gen_free(bmd_gen *g);

/* Emits one Household per household (key = household id). */
int bmd_gen_roster(bmd_gen *g, bmd_emit_fn emit, void *opaque, td_error *err);
/* Emits the department records and fills *ret_expect on success. */
int bmd_gen_departments(bmd_gen *g, bmd_emit_fn emit, void *opaque, bmd_expect *ret_expect,
                        td_error *err);

/* The i-th record of the latency phase: a DIBAO_APPLIED of a person off the
 * roster met nowhere else, with a village of county i % BMD_COUNTIES, and
 * the record id "LAT-<i>"; it raises exactly one ALERT. key receives the
 * person key (NUL-terminated), out the encoded value. */
int bmd_gen_latency_record(bmd_gen *g, long i, char key[32], td_avro_buf *out, td_error *err);
/* i from a record id "LAT-<i>", or -1. */
long bmd_latency_index(const char *record_id, size_t len);

#endif
