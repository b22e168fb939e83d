/* suspect_it: Suspect messages for tuodictl's integration tests, written as
 * tuodi-matchd writes them (JSON -> Avro with the registry, single-object
 * encoding), and the producing that goes with them. */
#ifndef SUSPECT_IT_H
#define SUSPECT_IT_H

#include "td_avro.h"
#include "td_kafka.h"

/* The person key every test suspect carries (it must never be printed). */
#define SUSPECT_IT_PKEY "340421198001010011"

/* One message (value NULL: a tombstone), RD_KAFKA_MSG_F_COPY. Fails the
 * running test (fatally) when librdkafka refuses it. */
void suspect_it_produce_raw(rd_kafka_t *rk, const char *topic, const char *key,
                            const void *value, size_t len);
/* json as a record of schema rec (e.g. "cn.tuodi.Suspect") of reg, produced
 * keyed by key. */
void suspect_it_produce_json(const td_avro_registry *reg, rd_kafka_t *rk, const char *topic,
                             const char *key, const char *rec, const char *json);
/* One Suspect message of kind (RAISED, RESOLVED, CLOSED) for the household
 * hh of village ("" : without a known village, keyed by the id then).
 * person NULL: a household-level indicator. raised: an ISO timestamp; due:
 * a date; ended: the RESOLVED resolution's or the CLOSED closure's time
 * (NULL for RAISED). Fix hint 请核实后整改; a CLOSED one's closure is
 * DEPARTMENT_DATA_WRONG, reason 民政登记有误, outcome id OUT-<id>. */
void suspect_it_produce(const td_avro_registry *reg, rd_kafka_t *rk, const char *topic,
                        const char *id, const char *kind, const char *village, const char *hh,
                        const char *head, const char *person, const char *indicator,
                        const char *name, const char *roster, const char *dept,
                        const char *raised, const char *due, const char *ended);

#endif
