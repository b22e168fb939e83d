/* td_metrics: a process's metrics, rendered in Prometheus' text format
 * (version 0.0.4) for the /metrics endpoint of td_http.
 *
 *   td_metrics *m = td_metrics_new("tuodi_connector");
 *   td_metric *rows = td_metrics_counter(m, "rows_read_total", "Rows read", "dataset");
 *   td_metric_add(rows, 1, "medical_insurance");
 *   td_metric *dur = td_metrics_histogram(m, "commit_duration_seconds", "...", NULL,
 *                                         td_metrics_seconds_buckets, TD_METRICS_SECONDS_NB);
 *   td_metric_observe(dur, 0.012);
 *   char *text; size_t len; td_metrics_render(m, &text, &len);
 *
 * A family has a name (the registry's prefix, "_", the name given), a help
 * text, a type, and 0 to TD_METRICS_MAX_LABELS label names ("a,b"). Each
 * distinct tuple of label values is a series, made at its first use. Names
 * carry their unit (_seconds, _bytes, _total for counters), as Prometheus'
 * conventions say.
 *
 * Personal data: a label value must never be an identity number or a name.
 * td_metric_* refuse (and count in tuodi_metrics_refused_label_values_total
 * of the registry) any label value holding 15 or more digits in a row, or
 * characters outside printable ASCII: tuodi's labels are codes (dataset,
 * reason class, county code, rule id, topic, partition), never people.
 *
 * Threads: every call may come from any thread; one mutex per registry. The
 * collect callbacks run in the thread that renders (td_http's), with no
 * lock of td_metrics held: they call td_metric_set like anyone.
 */
#ifndef TD_METRICS_H
#define TD_METRICS_H

#include <stddef.h>
#include <stdint.h>

#define TD_METRICS_MAX_LABELS 4
#define TD_METRICS_MAX_SERIES 4096 /* per family; more are refused and counted */

typedef struct td_metrics td_metrics;
typedef struct td_metric td_metric;

/* prefix: "tuodi_connector" ... (names are prefix_name). NULL on ENOMEM. */
td_metrics *td_metrics_new(const char *prefix);
void td_metrics_free(td_metrics *m);

/* Families. labels: comma-separated label names or NULL. The same name
 * asked again returns the same family (type and labels must agree, else
 * NULL). NULL on ENOMEM or a bad name. Owned by m. */
td_metric *td_metrics_counter(td_metrics *m, const char *name, const char *help,
                              const char *labels);
td_metric *td_metrics_gauge(td_metrics *m, const char *name, const char *help,
                            const char *labels);
/* buckets: upper bounds, increasing (+Inf is added). */
td_metric *td_metrics_histogram(td_metrics *m, const char *name, const char *help,
                                const char *labels, const double *buckets, size_t nbuckets);

/* Seconds from 1 ms to 60 s, for durations of commits and transactions. */
extern const double td_metrics_seconds_buckets[];
#define TD_METRICS_SECONDS_NB 14

/* Series operations: the label values follow, as many as the family has
 * label names (const char *). f NULL: nothing (so a caller need not check
 * what td_metrics_counter returned). A counter only grows: a negative v is
 * ignored. */
void td_metric_add(td_metric *f, double v, ...);
void td_metric_set(td_metric *f, double v, ...);
void td_metric_observe(td_metric *f, double v, ...);
/* Removes every series of f (a gauge whose label set changes, e.g. the
 * partitions of a consumer after a rebalance). */
void td_metric_clear(td_metric *f);
/* The value of a series (a histogram: its count); NAN when it does not
 * exist. For tests. */
double td_metric_value(td_metric *f, ...);

/* fn runs at every render, before the text is made: for gauges read at
 * scrape time (files in a directory, sizes). At most 8. */
typedef void (*td_metrics_collect_fn)(td_metrics *m, void *opaque);
int td_metrics_on_collect(td_metrics *m, td_metrics_collect_fn fn, void *opaque);

/* The whole registry as Prometheus text (malloc'd, *len bytes, NUL-ended).
 * 0 or -ENOMEM. */
int td_metrics_render(td_metrics *m, char **out, size_t *len);

#endif
