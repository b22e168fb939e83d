/* tdm_metrics: tuodi-matchd's Prometheus metrics (names: /work's METRICS
 * contract, listed with what to do in docs/monitoring.md).
 *
 * The engine's loop feeds it; td_http renders the registry from its own
 * thread. What a batch did (records, dead letters, outcomes, alerts, the
 * change of open alerts) is held pending and reaches the counters only when
 * the batch commits (tdm_metrics_flush), so that an aborted and re-read
 * batch is counted once, as the alerts it produced are; a dropped batch
 * (tdm_metrics_drop) counts nothing.
 *
 * Open and overdue alerts by county are the sum over the states of their
 * open alerts (an overdue one: its orange warning went out), routed by the
 * village of the first message ("unrouted" without one). They are kept by
 * difference: a state counts -1 when the batch loads it and +1 as it is at
 * the commit; the states already in LMDB are counted once at the start
 * (tdm_metrics_window with TDM_METRICS_BASE).
 *
 * Threads: every function from the engine's thread only, except that the
 * families' values are read by td_http's (td_metrics locks). A NULL
 * tdm_metrics (no http: section) makes every call do nothing. */
#ifndef TDM_METRICS_H
#define TDM_METRICS_H

#include "td_metrics.h"
#include "tdm_window.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tdm_metrics {
    td_metrics *reg; /* borrowed */
    td_metric *info, *ready;
    td_metric *records, *dead_letters, *alerts_raised, *alerts_open, *alerts_overdue;
    td_metric *outcomes, *consumer_lag, *txn_duration, *last_commit, *clock_lag;
    td_metric *lmdb_size, *lmdb_used, *persons, *households, *progress;
    td_metric *suspects, *suspects_open, *held_back;
    /* pending until the batch commits */
    const char *const *inputs;
    size_t ninputs;
    uint64_t *p_records, *p_dead;
    uint64_t p_accepted, p_rejected, p_held_back;
    struct tdm_metrics_alert *p_alerts;
    size_t np_alerts, cap_alerts;
    struct tdm_metrics_alert *p_sus;
    size_t np_sus, cap_sus;
    int64_t sus_open, p_sus_open;
    struct tdm_metrics_county *counties;
    size_t ncounties, cap_counties;
} tdm_metrics;

/* Families in reg (borrowed, outlives the result) for the inputs named
 * inputs[0..ninputs) (borrowed; the records_total{input} label values).
 * NULL on ENOMEM. */
tdm_metrics *tdm_metrics_new(td_metrics *reg, const char *group, const char *version,
                             const char *const *inputs, size_t ninputs);
/* Accepts NULL; returns NULL. */
tdm_metrics *tdm_metrics_free(tdm_metrics *s);

/* In the open batch: a record of input in processed; one dead-lettered; a
 * verification outcome accepted or not; an alert message of kind
 * ("alert", "overdue_warning", "closed") for rule of county ("" or NULL:
 * unrouted). -ENOMEM from tdm_metrics_alert (the count is lost, nothing
 * else). */
void tdm_metrics_record(tdm_metrics *s, int in);
void tdm_metrics_dead_letter(tdm_metrics *s, int in);
void tdm_metrics_outcome(tdm_metrics *s, bool accepted);
/* In the open batch: n records held back as old (alerts.max_event_age). */
void tdm_metrics_held_back(tdm_metrics *s, uint64_t n);
int tdm_metrics_alert(tdm_metrics *s, const char *rule, const char *county, const char *kind);

/* In the open batch: a Suspect message of kind ("raised", "resolved",
 * "closed") of indicator for county ("" or NULL: unrouted). -ENOMEM as
 * tdm_metrics_alert. */
int tdm_metrics_suspect(tdm_metrics *s, const char *indicator, const char *county,
                        const char *kind);
/* Counts the open alerts of w by county: TDM_METRICS_LOADED (a state the
 * batch loads: -1), TDM_METRICS_STORED (as the batch commits it: +1, both
 * pending), TDM_METRICS_BASE (the start's count: +1 at once). */
typedef enum { TDM_METRICS_LOADED, TDM_METRICS_STORED, TDM_METRICS_BASE } tdm_metrics_how;
void tdm_metrics_window(tdm_metrics *s, const tdm_window *w, tdm_metrics_how how);
/* The open suspects of a suspects state (tdm_suspects_open_count), counted
 * the same way (one gauge, not by county). */
void tdm_metrics_suspects_open(tdm_metrics *s, size_t open, tdm_metrics_how how);

/* The batch committed: the pending counts go to the counters and gauges. */
void tdm_metrics_flush(tdm_metrics *s);
/* The batch is dropped (aborted, revoked): the pending counts are
 * forgotten. */
void tdm_metrics_drop(tdm_metrics *s);

#endif
