#include "tdc_metrics.h"

#include "td_json.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

const char *const tdc_reason_class_names[] = {
    [TDC_REASON_MISSING_COLUMN] = "missing_column",
    [TDC_REASON_DUPLICATE_COLUMN] = "duplicate_column",
    [TDC_REASON_BAD_ROW_SHAPE] = "bad_row_shape",
    [TDC_REASON_BAD_ROW] = "bad_row",
    [TDC_REASON_BAD_ENCODING] = "bad_encoding",
    [TDC_REASON_BAD_ID_NUMBER] = "bad_id_number",
    [TDC_REASON_MISSING_VALUE] = "missing_value",
    [TDC_REASON_BAD_DATE] = "bad_date",
    [TDC_REASON_BAD_AMOUNT] = "bad_amount",
    [TDC_REASON_BAD_NUMBER] = "bad_number",
    [TDC_REASON_BAD_BOOLEAN] = "bad_boolean",
    [TDC_REASON_UNKNOWN_CODE] = "unknown_code",
    [TDC_REASON_BAD_VILLAGE_CODE] = "bad_village_code",
    [TDC_REASON_BAD_RISK_CODE] = "bad_risk_code",
    [TDC_REASON_INCONSISTENT] = "inconsistent_fields",
    [TDC_REASON_BAD_HOUSEHOLD] = "bad_household",
    [TDC_REASON_TOO_LARGE] = "too_large",
    [TDC_REASON_OTHER] = "other",
    [TDC_REASON_N_CLASSES] = NULL,
};

/* Phrases of the reasons (connectors/datasets, the engine), most specific
 * first: the first found gives the class. A field's reason is
 * "<column>: <what>", and a cell's text is quoted in <what>, so the
 * phrases are looked for after the first ": " where there is one. */
static const struct {
    const char *phrase;
    tdc_reject_class cls;
} tdc_reason_phrases[] = {
    {"a Kafka message may have", TDC_REASON_TOO_LARGE},
    {"the header has no column", TDC_REASON_MISSING_COLUMN},
    {"but the header has no such column", TDC_REASON_MISSING_COLUMN},
    {"appears twice in the header", TDC_REASON_DUPLICATE_COLUMN},
    {"the row has ", TDC_REASON_BAD_ROW_SHAPE},
    {"household rejected: more than", TDC_REASON_BAD_HOUSEHOLD},
    {"identity number", TDC_REASON_BAD_ID_NUMBER},
    {"not valid UTF-8", TDC_REASON_BAD_ENCODING},
    {"is not a risk code", TDC_REASON_BAD_RISK_CODE},
    {"is listed twice", TDC_REASON_BAD_RISK_CODE},
    {"more than a year in the future", TDC_REASON_BAD_DATE},
    {" risks", TDC_REASON_BAD_RISK_CODE},
    {"is not a village code", TDC_REASON_BAD_VILLAGE_CODE},
    {"is a township or county code", TDC_REASON_BAD_VILLAGE_CODE},
    {"is not a date", TDC_REASON_BAD_DATE}, /* and "a date and time" */
    {"is before ", TDC_REASON_BAD_DATE},
    {"an amount", TDC_REASON_BAD_AMOUNT},
    {"is negative", TDC_REASON_BAD_AMOUNT},
    {" exceed ", TDC_REASON_INCONSISTENT},
    {"is not a whole number", TDC_REASON_BAD_NUMBER},
    {"is out of range", TDC_REASON_BAD_NUMBER},
    {"is not a yes/no value", TDC_REASON_BAD_BOOLEAN},
    {"unknown value", TDC_REASON_UNKNOWN_CODE},
    {"is given (both or neither)", TDC_REASON_INCONSISTENT},
    {"differs from the household", TDC_REASON_BAD_HOUSEHOLD},
    {"head of household", TDC_REASON_BAD_HOUSEHOLD},
    {"partial household", TDC_REASON_BAD_HOUSEHOLD},
    {"rows are not together", TDC_REASON_BAD_HOUSEHOLD},
    {"empty", TDC_REASON_MISSING_VALUE},
    {"constant for a required field", TDC_REASON_MISSING_VALUE},
};

tdc_reject_class tdc_reason_classify(const char *reason)
{
    static const char member[] = "household rejected: member row ";
    const char *what;
    char bare[1024];
    size_t o = 0;

    if (!reason)
        return TDC_REASON_OTHER;
    if (strncmp(reason, member, sizeof(member) - 1) == 0) {
        /* "household rejected: member row N: <that row's reason>" */
        const char *p = strchr(reason + sizeof(member) - 1, ':');
        if (p)
            return tdc_reason_classify(p + 1 + (p[1] == ' '));
    }
    /* the rows and header phrases may stand anywhere; a field's after its
     * column name */
    for (size_t i = 0; i < 6; i++)
        if (strstr(reason, tdc_reason_phrases[i].phrase))
            return tdc_reason_phrases[i].cls;
    what = strstr(reason, ": ");
    what = what ? what + 2 : reason;
    /* a cell's text, quoted ("..." with \" and \\ escaped), is no phrase */
    for (bool quoted = false; *what && o < sizeof(bare) - 1; what++) {
        if (*what == '"')
            quoted = !quoted;
        else if (quoted && *what == '\\' && what[1])
            what++;
        else if (!quoted)
            bare[o++] = *what;
    }
    bare[o] = '\0';
    for (size_t i = 6; i < sizeof(tdc_reason_phrases) / sizeof(tdc_reason_phrases[0]); i++)
        if (strstr(bare, tdc_reason_phrases[i].phrase))
            return tdc_reason_phrases[i].cls;
    return TDC_REASON_OTHER;
}

/* The spool directories, copied; read by td_http's thread. */
typedef struct tdc_spool_dirs {
    char *in, *processing, *finished, *error, *pattern, *marker;
} tdc_spool_dirs;

struct tdc_metrics {
    td_metrics *reg;
    td_metric *info, *ready, *rows_read, *rows_published, *rows_rejected, *files,
        *spool_bytes, *source_lag, *source_lag_bytes, *source_held, *transactions, *commit_duration, *last_commit, *kafka_queue,
        *kafka_retries, *kafka_broker_up;
    /* the open transaction's rejections, by class */
    int64_t pending[TDC_REASON_N_CLASSES];
    int64_t retries_seen; /* the producer's txretries at the last statistics */
    pthread_mutex_t mu;   /* dirs */
    tdc_spool_dirs dirs;
    bool have_dirs;
};

static void tdc_spool_dirs_free(tdc_spool_dirs *d)
{
    free(d->in);
    free(d->processing);
    free(d->finished);
    free(d->error);
    free(d->pattern);
    free(d->marker);
    memset(d, 0, sizeof(*d));
}

/* Regular files in dir (whose names match pattern, are not markers and
 * not error notes), and their bytes when bytes. -1 when dir is unreadable. */
static int64_t tdc_count_files(const char *dir, const char *pattern, const char *marker,
                               int64_t *bytes)
{
    static const char note[] = ".error.txt";
    DIR *d = opendir(dir);
    struct dirent *e;
    int64_t n = 0;

    if (!d)
        return -1;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        struct stat st;

        if (e->d_name[0] == '.')
            continue;
        if (e->d_type != DT_REG && e->d_type != DT_UNKNOWN)
            continue;
        if (len > sizeof(note) - 1 && strcmp(e->d_name + len - (sizeof(note) - 1), note) == 0)
            continue;
        if (marker && *marker && len > strlen(marker) &&
            strcmp(e->d_name + len - strlen(marker), marker) == 0)
            continue;
        if (pattern && fnmatch(pattern, e->d_name, FNM_PERIOD) != 0)
            continue;
        if (bytes || e->d_type == DT_UNKNOWN) {
            if (fstatat(dirfd(d), e->d_name, &st, 0) != 0 || !S_ISREG(st.st_mode))
                continue;
            if (bytes)
                *bytes += st.st_size;
        }
        n++;
    }
    closedir(d);
    return n;
}

static void tdc_metrics_collect(td_metrics *reg, void *opaque)
{
    tdc_metrics *m = opaque;
    int64_t bytes = 0, n;

    (void)reg;
    pthread_mutex_lock(&m->mu);
    if (m->have_dirs) {
        n = tdc_count_files(m->dirs.in, m->dirs.pattern, m->dirs.marker, &bytes);
        td_metric_set(m->files, n < 0 ? 0 : (double)n, "waiting");
        td_metric_set(m->spool_bytes, (double)bytes);
        n = tdc_count_files(m->dirs.processing, NULL, NULL, NULL);
        td_metric_set(m->files, n < 0 ? 0 : (double)n, "processing");
        n = tdc_count_files(m->dirs.finished, NULL, NULL, NULL);
        td_metric_set(m->files, n < 0 ? 0 : (double)n, "finished");
        n = tdc_count_files(m->dirs.error, NULL, NULL, NULL);
        td_metric_set(m->files, n < 0 ? 0 : (double)n, "error");
    }
    pthread_mutex_unlock(&m->mu);
}

static double tdc_now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

tdc_metrics *tdc_metrics_new(const char *instance, const char *dataset, const char *version)
{
    tdc_metrics *m = calloc(1, sizeof(*m));

    if (!m)
        return NULL;
    pthread_mutex_init(&m->mu, NULL);
    m->reg = td_metrics_new("tuodi_connector");
    if (!m->reg)
        return tdc_metrics_free(m);
    m->info = td_metrics_gauge(m->reg, "info", "The connector instance, its dataset and version "
                               "(always 1)", "connector,dataset,version");
    m->ready = td_metrics_gauge(m->reg, "ready", "1 when /ready says ready: started, and Kafka "
                                "reachable", NULL);
    m->rows_read = td_metrics_counter(m->reg, "rows_read_total",
                                      "Rows read from the source (committed)", NULL);
    m->rows_published = td_metrics_counter(m->reg, "rows_published_total",
                                           "Rows published in records (committed)", NULL);
    m->rows_rejected = td_metrics_counter(m->reg, "rows_rejected_total",
                                          "Rows dead-lettered, by reason class (committed)",
                                          "reason");
    m->files = td_metrics_gauge(m->reg, "files", "Files in the spool directories by state "
                                "(waiting in in/, processing, finished, error)", "state");
    m->spool_bytes = td_metrics_gauge(m->reg, "spool_waiting_bytes",
                                      "Bytes of the files waiting in the spool directory", NULL);
    m->source_lag = td_metrics_gauge(m->reg, "source_lag_rows",
                                     "Rows of the postgres table still to read (readable now, "
                                     "beyond the connector's position), as last counted: up to "
                                     "10 s old; absent for a spool directory", NULL);
    m->source_lag_bytes = td_metrics_gauge(m->reg, "source_lag_bytes",
                                           "WAL the database server keeps for a logical-mode "
                                           "postgres source's replication slot beyond its "
                                           "confirmed position (still to read, or read but not "
                                           "yet committed to Kafka): up to 10 s old; absent in "
                                           "other modes", NULL);
    m->source_held = td_metrics_gauge(m->reg, "source_held_seconds",
                                      "How long the oldest transaction still running on the "
                                      "database server has held back a snapshot-mode postgres "
                                      "source (rows of later transactions wait for it), as "
                                      "observed; 0 when nothing holds it; up to 10 s old; absent "
                                      "in other modes", NULL);
    m->transactions = td_metrics_counter(m->reg, "transactions_total",
                                         "Kafka transactions, committed or aborted (and redone)",
                                         "result");
    m->commit_duration = td_metrics_histogram(m->reg, "commit_duration_seconds",
                                              "Time to commit a Kafka transaction", NULL,
                                              td_metrics_seconds_buckets, TD_METRICS_SECONDS_NB);
    m->last_commit = td_metrics_gauge(m->reg, "last_commit_timestamp_seconds",
                                      "Unix time of the last committed transaction (none before "
                                      "the first)", NULL);
    m->kafka_queue = td_metrics_gauge(m->reg, "kafka_producer_queue_messages",
                                      "Messages in the producer's queue (librdkafka msg_cnt)",
                                      NULL);
    m->kafka_retries = td_metrics_counter(m->reg, "kafka_producer_retries_total",
                                          "Requests the producer sent again (librdkafka "
                                          "txretries)", NULL);
    m->kafka_broker_up = td_metrics_gauge(m->reg, "kafka_broker_up",
                                          "0 when the producer lost or cannot make its connection "
                                          "to the broker (1: connected, or not needed so far)",
                                          "broker");
    if (!m->info || !m->ready || !m->rows_read || !m->rows_published || !m->rows_rejected ||
        !m->files || !m->spool_bytes || !m->source_lag || !m->source_lag_bytes || !m->source_held || !m->transactions || !m->commit_duration ||
        !m->last_commit || !m->kafka_queue || !m->kafka_retries || !m->kafka_broker_up ||
        td_metrics_on_collect(m->reg, tdc_metrics_collect, m) < 0)
        return tdc_metrics_free(m);
    td_metric_set(m->info, 1, instance, dataset, version);
    td_metric_set(m->ready, 0);
    td_metric_add(m->rows_read, 0);
    td_metric_add(m->rows_published, 0);
    td_metric_add(m->transactions, 0, "committed");
    td_metric_add(m->transactions, 0, "aborted");
    td_metric_add(m->kafka_retries, 0);
    return m;
}

tdc_metrics *tdc_metrics_free(tdc_metrics *m)
{
    if (!m)
        return NULL;
    td_metrics_free(m->reg);
    tdc_spool_dirs_free(&m->dirs);
    pthread_mutex_destroy(&m->mu);
    free(m);
    return NULL;
}

td_metrics *tdc_metrics_registry(tdc_metrics *m)
{
    return m ? m->reg : NULL;
}

static char *tdc_dir_or(const char *dir, const char *in, const char *sub)
{
    char buf[4096];

    if (dir)
        return strdup(dir);
    snprintf(buf, sizeof(buf), "%s/%s", in, sub);
    return strdup(buf);
}

int tdc_metrics_spool(tdc_metrics *m, const struct tdc_spooldir_config *cfg)
{
    tdc_spool_dirs d = {0};

    if (!m)
        return 0;
    if (cfg && cfg->input_dir) {
        d.in = strdup(cfg->input_dir);
        d.processing = tdc_dir_or(cfg->processing_dir, cfg->input_dir, "processing");
        d.finished = tdc_dir_or(cfg->finished_dir, cfg->input_dir, "finished");
        d.error = tdc_dir_or(cfg->error_dir, cfg->input_dir, "error");
        d.pattern = strdup(cfg->pattern ? cfg->pattern : "*");
        d.marker = strdup(cfg->marker_suffix ? cfg->marker_suffix : "");
        if (!d.in || !d.processing || !d.finished || !d.error || !d.pattern || !d.marker) {
            tdc_spool_dirs_free(&d);
            return -ENOMEM;
        }
    }
    pthread_mutex_lock(&m->mu);
    tdc_spool_dirs_free(&m->dirs);
    m->dirs = d;
    m->have_dirs = d.in != NULL;
    pthread_mutex_unlock(&m->mu);
    return 0;
}

void tdc_metrics_reject(tdc_metrics *m, tdc_reject_class cls)
{
    if (m && cls < TDC_REASON_N_CLASSES)
        m->pending[cls]++;
}

void tdc_metrics_committed(tdc_metrics *m, int64_t rows, int64_t published, double seconds)
{
    if (!m)
        return;
    td_metric_add(m->rows_read, (double)rows);
    td_metric_add(m->rows_published, (double)published);
    for (size_t i = 0; i < TDC_REASON_N_CLASSES; i++)
        if (m->pending[i]) {
            td_metric_add(m->rows_rejected, (double)m->pending[i], tdc_reason_class_names[i]);
            m->pending[i] = 0;
        }
    td_metric_add(m->transactions, 1, "committed");
    td_metric_observe(m->commit_duration, seconds);
    td_metric_set(m->last_commit, tdc_now_s());
}

void tdc_metrics_aborted(tdc_metrics *m)
{
    if (!m)
        return;
    memset(m->pending, 0, sizeof(m->pending));
    td_metric_add(m->transactions, 1, "aborted");
}

void tdc_metrics_source_lag(tdc_metrics *m, int64_t rows)
{
    if (m)
        td_metric_set(m->source_lag, (double)rows);
}

void tdc_metrics_source_lag_bytes(tdc_metrics *m, int64_t bytes)
{
    if (m)
        td_metric_set(m->source_lag_bytes, (double)bytes);
}

void tdc_metrics_source_held(tdc_metrics *m, double seconds)
{
    if (m)
        td_metric_set(m->source_held, seconds);
}

void tdc_metrics_ready(tdc_metrics *m, bool ready)
{
    if (m)
        td_metric_set(m->ready, ready ? 1 : 0);
}

static int64_t tdc_json_int(const td_json *o, const char *key)
{
    const td_json *v = td_json_get(o, key);

    return v && v->type == TD_JSON_NUMBER ? (int64_t)v->number : 0;
}

int tdc_metrics_kafka_stats(tdc_metrics *m, const char *json, size_t len)
{
    td_json *j = NULL;
    const td_json *brokers;
    td_error e = {0};
    int64_t retries = 0;
    int up = 0;

    if (!m || td_json_parse("statistics", json, len, &j, &e) < 0)
        return -1;
    td_metric_set(m->kafka_queue, (double)tdc_json_int(j, "msg_cnt"));
    brokers = td_json_get(j, "brokers");
    for (size_t i = 0; brokers && brokers->type == TD_JSON_OBJECT && i < brokers->len; i++) {
        const td_json *b = brokers->items[i];
        const char *src = td_json_get_string(b, "source");
        const char *state = td_json_get_string(b, "state");
        bool is_up;

        retries += tdc_json_int(b, "txretries");
        const td_json *id = td_json_get(b, "nodeid");

        /* the brokers of the cluster ("host:port/id", a bootstrap address
         * once its id is known); not the bootstrap addresses not (yet)
         * known as a broker, nor librdkafka's internal and logical ones */
        if (!id || id->type != TD_JSON_NUMBER || id->number < 0 ||
            (src && (strcmp(src, "internal") == 0 || strcmp(src, "logical") == 0)))
            continue;
        is_up = state && strcmp(state, "UP") == 0;
        up += is_up;
        /* INIT: never needed so far (sparse connections), not down */
        td_metric_set(m->kafka_broker_up, is_up || (state && strcmp(state, "INIT") == 0) ? 1 : 0,
                      brokers->keys[i]);
    }
    /* txretries counts from the producer's start: a new producer (after a
     * restart) starts again from 0 */
    td_metric_add(m->kafka_retries,
                  (double)(retries >= m->retries_seen ? retries - m->retries_seen : retries));
    m->retries_seen = retries;
    td_json_free(j);
    return up;
}
