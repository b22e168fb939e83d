/* tdc_offsets: the connector's source position on Kafka.
 *
 * Each transaction of a connector ends with one ConnectorOffset record
 * (schemas/connector_offset.avsc) on the compacted offsets topic, keyed
 * "<instance>/<source id>", so the position commits if and only if the rows
 * up to it do (as Kafka Connect's exactly-once sources do). On start the
 * connector reads the topic back with a read_committed consumer, after
 * init_transactions() has fenced and resolved any earlier incarnation, and
 * resumes from the last position under its key.
 *
 * The topic is the instance's own (tuodi.connect.offsets.<instance> unless
 * topics.offsets says otherwise), so that Kafka's ACLs, which name topics,
 * not keys, can let a department write its own positions and no other's.
 */
#ifndef TDC_OFFSETS_H
#define TDC_OFFSETS_H

#include "td_avro.h"
#include "td_error.h"
#include "td_kafka.h"
#include "tdc_row.h"

#include <avro.h>

/* Sets v (an instance of the ConnectorOffset schema) from p. */
int tdc_offsets_to_value(const tdc_position *p, const char *instance, const char *source_id,
                         int64_t committed_at_ms, avro_value_t *v, td_error *err);
/* The inverse. -EINVAL if the value holds no usable position. */
int tdc_offsets_from_value(avro_value_t *v, tdc_position *p, td_error *err);

/* tdc_offsets_read's flags. QUIET: a refused Describe or Read is -EACCES
 * with a plain message, not remembered as the process's refusal
 * (td_kafka_refused()): for a topic the caller may not be allowed to see,
 * such as the old shared positions topic. */
#define TDC_OFFSETS_QUIET 0x1u

/* Reads topic from its beginning to its end as a read_committed consumer
 * built from props and returns in *ret the position of the last record keyed
 * key. Returns 1 (found), 0 (no record under key: start from the beginning)
 * or a negative errno: -ENOENT (no such topic), -EACCES (the brokers'
 * ACLs refuse Describe or Read of topic: the message names the user, the
 * operation and the topic, see td_kafka_refusal_error, unless flags has
 * TDC_OFFSETS_QUIET), -ETIMEDOUT (broker unreachable within timeout_ms),
 * -EIO or -EINVAL (undecodable record: a corrupt position must stop the
 * connector rather than be guessed). dec decodes ConnectorOffset records;
 * with dec NULL nothing is decoded and ret (may be NULL) is not set: the
 * result says only whether key has a position. */
int tdc_offsets_read(const td_kafka_props *props, const char *topic, const char *key,
                     td_avro_decoder *dec, int timeout_ms, unsigned flags, tdc_position *ret,
                     td_error *err);

#endif
