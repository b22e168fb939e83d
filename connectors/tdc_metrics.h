/* tdc_metrics: tuodi-connector's Prometheus metrics (the names are
 * docs/monitoring.md's, "tuodi-connector"), over one td_metrics registry
 * that td_http serves.
 *
 * Counts follow what Kafka committed: rows, rejections (by reason class)
 * and transactions are added when a transaction commits, and what an
 * aborted transaction held is dropped (its rows are read again), so
 * rows_read_total = rows_published_total + sum(rows_rejected_total) at
 * every scrape between transactions, exactly like the dead-letter topic.
 *
 * Threads: everything but the collect callback (the spool directories,
 * read by td_http's thread at scrape time) runs on the connector's thread;
 * tdc_metrics_spool() may change the directories while td_http reads them
 * (a mutex).
 */
#ifndef TDC_METRICS_H
#define TDC_METRICS_H

#include "td_metrics.h"
#include "tdc_spooldir.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The reason classes of rejected rows: a fixed set of ASCII names for the
 * label `reason` of rows_rejected_total (never row text). */
typedef enum tdc_reject_class {
    TDC_REASON_MISSING_COLUMN,   /* the header lacks a needed column */
    TDC_REASON_DUPLICATE_COLUMN, /* the header holds a mapped column twice */
    TDC_REASON_BAD_ROW_SHAPE,    /* another number of fields than the header */
    TDC_REASON_BAD_ROW,          /* the source refused the row (CSV quoting, size, ...) */
    TDC_REASON_BAD_ENCODING,     /* not UTF-8 */
    TDC_REASON_BAD_ID_NUMBER,    /* identity number invalid */
    TDC_REASON_MISSING_VALUE,    /* a required cell empty */
    TDC_REASON_BAD_DATE,         /* not a date, too old, in the future */
    TDC_REASON_BAD_AMOUNT,       /* money */
    TDC_REASON_BAD_NUMBER,       /* whole numbers, ranges */
    TDC_REASON_BAD_BOOLEAN,      /* yes/no */
    TDC_REASON_UNKNOWN_CODE,     /* a code value the mapping does not know */
    TDC_REASON_BAD_VILLAGE_CODE,
    TDC_REASON_BAD_RISK_CODE,
    TDC_REASON_INCONSISTENT,     /* fields that disagree (amounts, pairs) */
    TDC_REASON_BAD_HOUSEHOLD,    /* roster: heads, size, rows not together */
    TDC_REASON_TOO_LARGE,        /* the record does not fit a Kafka message */
    TDC_REASON_OTHER,
    TDC_REASON_N_CLASSES,
} tdc_reject_class;

extern const char *const tdc_reason_class_names[]; /* "missing_column", ... */

/* The class of a rejection reason as the datasets, the source and the
 * engine write it ("年人均纯收入: 12x is not an amount ..."). A household
 * rejected for one member's row has that row's class. */
tdc_reject_class tdc_reason_classify(const char *reason);

typedef struct tdc_metrics tdc_metrics;

/* dataset, instance, version: the info labels. NULL on ENOMEM. */
tdc_metrics *tdc_metrics_new(const char *instance, const char *dataset, const char *version);
tdc_metrics *tdc_metrics_free(tdc_metrics *m);
td_metrics *tdc_metrics_registry(tdc_metrics *m);

/* The spool directories to count at scrape time (copied; NULL: none, the
 * postgres source). 0 or -ENOMEM. */
int tdc_metrics_spool(tdc_metrics *m, const struct tdc_spooldir_config *cfg);

/* A row rejected in the open transaction. */
void tdc_metrics_reject(tdc_metrics *m, tdc_reject_class cls);
/* The open transaction committed, with rows read and published in it,
 * after seconds of committing. */
void tdc_metrics_committed(tdc_metrics *m, int64_t rows, int64_t published, double seconds);
/* The open transaction was aborted: what it held is dropped. */
void tdc_metrics_aborted(tdc_metrics *m);
void tdc_metrics_ready(tdc_metrics *m, bool ready);
/* source_lag_rows: the rows the source has still to read, as counted by
 * tdc_source_lag() (never set for a spooldir: no series). */
void tdc_metrics_source_lag(tdc_metrics *m, int64_t rows);
/* source_lag_bytes: the WAL a postgres logical-mode source's slot keeps
 * beyond its confirmed position (tdc_pglogical_lag_bytes(); never set in
 * other modes: no series). */
void tdc_metrics_source_lag_bytes(tdc_metrics *m, int64_t bytes);
/* source_held_seconds: how long a running transaction has held back a
 * snapshot-mode postgres source (tdc_postgres_stats.held_seconds; never set
 * in other modes: no series). */
void tdc_metrics_source_held(tdc_metrics *m, double seconds);

/* librdkafka's statistics JSON (statistics.interval.ms): the producer's
 * queue, retries and brokers' states. Returns the number of the cluster's
 * brokers the producer is connected to (not counting the bootstrap
 * addresses), or -1 when json is unreadable. */
int tdc_metrics_kafka_stats(tdc_metrics *m, const char *json, size_t len);

#endif
