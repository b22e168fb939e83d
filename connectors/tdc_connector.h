/* tdc_connector: the engine of tuodi-connector.
 *
 * Reads rows from one source, maps them with one dataset, and publishes, in
 * one Kafka transaction at a time: the records (keyed by person key, or by
 * household id for the roster), the rejected rows (dead-letter topic, with
 * headers naming the source, row, column and reason), and the source position
 * (offsets topic, compacted). A restart reads the position back and resumes
 * there, so every row is published once or rejected once, never lost and
 * never repeated (docs/connector.md).
 *
 * One thread. Signals (td_signal): SIGTERM/SIGINT end start-up at once, or
 * commit the open transaction if Kafka answers before the stop deadline
 * (td_signal_stop_deadline_ms; else it is redone at the next start) and
 * return 0; SIGHUP reloads the config file (parse, validate,
 * swap at a transaction boundary; a bad file keeps the old config).
 */
#ifndef TDC_CONNECTOR_H
#define TDC_CONNECTOR_H

#include "td_error.h"
#include "tdc_config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Counters since start, for logs, STATUS= and tests. */
typedef struct tdc_stats {
    int64_t rows;          /* rows read from the source */
    int64_t published;     /* rows that went into published records */
    int64_t records;       /* records published */
    int64_t rejected;      /* rows dead-lettered */
    int64_t transactions;  /* transactions committed */
    int64_t aborts;        /* transactions aborted and redone */
    int64_t units;         /* files finished */
} tdc_stats;

typedef struct tdc_connector tdc_connector;

/* Builds a connector from cfg (which it takes over: the caller must not
 * free it afterwards, in every case) and config_path (kept for SIGHUP).
 * Nothing touches Kafka or the source yet. */
int tdc_connector_new(tdc_config *cfg, const char *config_path, tdc_connector **ret,
                      td_error *err);

/* For --check-config: checks everything tdc_connector_new() and the start
 * would use, as the calling user, and creates, changes and connects to
 * nothing: the schemas (schemas_dir readable, the dataset's record and the
 * position schema there), the mapping (the dataset built and dropped, the
 * pseudonymisation key read), the source (tdc_spooldir_check(): the spool
 * directories usable or creatable; tdc_postgres_check(): the conninfo and the
 * files it names, no connection), the Kafka producer settings and the files
 * they name (td_kafka_props_check_files()). With connect (--connect) it also
 * asks the brokers for their metadata (td_kafka_probe(), up to 10 s) and
 * checks that the records, dead-letter and offsets topics exist, unless
 * topics.create would make them; that is all it sends. Every problem is
 * written to out as a line of its own (there may be more than a td_error
 * holds), with FILE:LINE:COL of the key where the config file sets it
 * (config_path; NULL: none). cfg stays the caller's. Returns 0, or the
 * negative code of the first problem (-EINVAL without cfg or out). */
int tdc_connector_check(const tdc_config *cfg, const char *config_path, bool connect,
                        FILE *out);

/* Runs until a stop is requested (td_signal) or a fatal error: connects,
 * initialises transactions (retrying while the broker is away), reads the
 * committed position, resumes the source, sends READY=1, and loops. Returns
 * 0 after a stop (also one that could not commit the open transaction by
 * the stop deadline: nothing uncommitted is lost, the next start redoes it), or a negative errno with err (fenced by another
 * instance, a corrupt position, a broken source). */
int tdc_connector_run(tdc_connector *c, td_error *err);

/* Asks a running connector to stop after its open transaction (for tests
 * that run it in a thread; signals do the same). */
void tdc_connector_stop(tdc_connector *c);

const tdc_stats *tdc_connector_stats(const tdc_connector *c);

tdc_connector *tdc_connector_free(tdc_connector *c);

#endif
