#include "tdc_connector.h"

#include "td_avro.h"
#include "td_http.h"
#include "td_kafka.h"
#include "td_log.h"
#include "td_notify.h"
#include "td_path.h"
#include "td_signal.h"
#include "td_time.h"
#include "tdc_metrics.h"
#include "tdc_offsets.h"
#include "tdc_postgres.h"
#include "tdc_pglogical.h"
#include "tdc_reasons.h"
#include "tdc_spooldir.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TDC_IDLE_WAIT_MS 500
/* source_lag_rows is counted at most this often (a query to the database) */
#define TDC_LAG_INTERVAL_MS 10000
#define TDC_RETRY_WAIT_MS 2000
#define TDC_STARTUP_TIMEOUT_MS 30000
#define TDC_PROBE_TIMEOUT_MS 10000 /* --check-config --connect */
/* What a row's record or dead letter may add to the row's own bytes: the
 * Avro framing and the record's source fields and key, or the dead-letter
 * headers (each value at most TDC_HEADER_MAX bytes, about a dozen of them).
 * The row limit stays this far below the largest message Kafka takes. */
#define TDC_ROW_HEADROOM 16384
#define TDC_HEADER_MAX 1024
/* A table's rejections are logged at most this often (tdc_table_rejections). */
#define TDC_TABLE_REJECTIONS_MS 60000
/* The smallest row limit a spool directory takes (spooldir.max_row_bytes). */
#define TDC_ROW_MIN 1024

static const char *const tdc_record_schema_names[] = {
    [TDC_DATASET_CIVIL_AFFAIRS] = "cn.tuodi.CivilAffairsEvent",
    [TDC_DATASET_MEDICAL_INSURANCE] = "cn.tuodi.MedicalSettlement",
    [TDC_DATASET_HUMAN_RESOURCES] = "cn.tuodi.EmploymentEvent",
    [TDC_DATASET_ROSTER] = "cn.tuodi.Household",
};

/* Counts of the unit (file) being read, to log rows read = published +
 * rejected, and the rejections by reason class, when it ends. A plain value:
 * copied at each commit, and back at an abort. */
typedef struct tdc_unit_stats {
    char name[TDC_UNIT_MAX];
    int64_t first_row;
    int64_t rows, published, rejected;
    int64_t started_ms;
    tdc_reasons reasons;
} tdc_unit_stats;

struct tdc_connector {
    tdc_config cfg;
    char *config_path;

    td_avro_registry *reg;
    const td_avro_schema *record_schema;
    const td_avro_schema *offset_schema;
    td_avro_decoder *offset_dec;
    avro_value_t offset_value;
    bool have_offset_value;

    tdc_dataset *ds;
    tdc_source *src;
    rd_kafka_t *producer;

    char txn_id[200];
    char pos_key[400];
    char source_id[TDC_UNIT_MAX + 16];
    td_avro_buf buf;

    tdc_position committed; /* kind NONE until something is committed/read */
    tdc_position last;      /* just after the last row read */
    bool txn_open;
    int64_t txn_rows;
    int64_t txn_started_ms;
    tdc_stats stats, stats_committed;
    tdc_unit_stats unit, unit_committed;
    int64_t unit_logged_ms; /* mono ms of the last unit line (0: none yet) */
    int64_t progress_ms;
    bool broker_down_logged;

    /* Kafka's size limits (tdc_read_limits): the producer's
     * message.max.bytes as built, the cap it is lowered to when a topic
     * takes smaller batches (0: none), the largest message (as
     * td_kafka_message_size counts) that every topic takes, and where the
     * smallest limit comes from (for messages). refused: the producer was
     * told (delivery report) that a broker refused a message for its size. */
    int64_t producer_max, producer_cap;
    size_t max_message;
    char max_message_why[300];
    _Atomic bool refused;
    size_t refused_bytes;

    /* /metrics, /health, /ready (http.listen; NULL: off). brokers_up:
     * brokers the producer is connected to, by its statistics (-1: no
     * statistics yet); ready_said: what /ready says (-1: nothing yet). */
    tdc_metrics *metrics;
    td_http *http;
    int brokers_up;
    int ready_said;
    uint64_t turns; /* of the loop, to beat every so many */
    int64_t lag_next_ms; /* when source_lag_rows may be counted again */
    bool lag_failed;     /* the last count failed (and that was logged) */

    _Atomic bool stop;
    bool started; /* start-up finished: there is something to commit at a stop */
    int sink_rc;
    td_error sink_err;
};

static void tdc_log_cb(td_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void tdc_log_cb(td_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    td_log_componentv(level, "connector", fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------ producing */

static int tdc_produce(tdc_connector *c, const char *topic, const char *key, size_t key_len,
                       const void *value, size_t len, rd_kafka_headers_t *hdrs)
{
    rd_kafka_resp_err_t e = td_kafka_produce(c->producer, topic, key, key_len, value, len, hdrs);

    if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
        return 0; /* the headers now belong to the message */
    if (hdrs)
        rd_kafka_headers_destroy(hdrs);
    if (td_kafka_err_is_refusal(e)) {
        /* librdkafka knows from the metadata that this user may not see or
         * write the topic: a refusal, said as one (user, operation, topic) */
        char res[300];
        snprintf(res, sizeof(res), "topic %s", topic);
        return td_kafka_refusal_error(c->producer, e, "Write", res, NULL, &c->sink_err);
    }
    return td_error_set(&c->sink_err, -EIO, "producing to %s: %s", topic, rd_kafka_err2str(e));
}

/* The source id ("spooldir", "postgres:<table>") and the position's key
 * "<instance>/<source id>" of cfg. */
static void tdc_position_key(const tdc_config *cfg, char *source_id, size_t source_size,
                             char *key, size_t key_size)
{
    if (cfg->use_postgres)
        snprintf(source_id, source_size, "postgres:%s", cfg->source.postgres.table);
    else
        snprintf(source_id, source_size, "spooldir");
    snprintf(key, key_size, "%s/%s", cfg->instance, source_id);
}

/* The longest prefix of s[0..n) that ends on a UTF-8 character boundary
 * (for bytes that are not UTF-8: at most 3 bytes shorter than n). */
static size_t tdc_utf8_cut(const char *s, size_t len, size_t n)
{
    size_t k = n;

    if (n >= len)
        return len;
    while (k > 0 && n - k < 3 && ((unsigned char)s[k] & 0xC0) == 0x80)
        k--;
    return ((unsigned char)s[k] & 0xC0) == 0x80 ? n : k;
}

/* Adds a header whose value is at most TDC_HEADER_MAX bytes (cut at a
 * character): the dead-letter headers stay within TDC_ROW_HEADROOM. */
static void tdc_header_add(rd_kafka_headers_t *h, const char *name, const char *value)
{
    size_t n = strlen(value);

    rd_kafka_header_add(h, name, -1, value, (ssize_t)tdc_utf8_cut(value, n, TDC_HEADER_MAX));
}

static const char tdc_truncated_header[] = "tuodi.truncated";

/* Puts row into the dead-letter topic with its reason. The value is the
 * row as read; when that and the headers would not fit in one Kafka message
 * (c->max_message), it is cut to fit, and tuodi.truncated says so. */
static int tdc_dead_letter(tdc_connector *c, const tdc_row *row, const char *column,
                           const char *reason, const char *stage)
{
    rd_kafka_headers_t *h = rd_kafka_headers_new(12);
    char num[32], masked[1024];
    size_t len = row->raw_len, fixed;

    /* The dataset masks identity numbers; mask again, cheaply, to be sure. */
    snprintf(masked, sizeof(masked), "%s", reason ? reason : "");
    td_log_redact(masked);
    tdc_header_add(h, "tuodi.connector", c->cfg.instance);
    tdc_header_add(h, "tuodi.dataset", tdc_dataset_kind_names[c->cfg.dataset]);
    tdc_header_add(h, "tuodi.location", row->unit ? row->unit : "");
    snprintf(num, sizeof(num), "%" PRId64, row->row);
    tdc_header_add(h, "tuodi.row", num);
    snprintf(num, sizeof(num), "%" PRId64, row->line);
    tdc_header_add(h, "tuodi.line", num);
    tdc_header_add(h, "tuodi.column", column ? column : "");
    tdc_header_add(h, "tuodi.reason", masked);
    tdc_header_add(h, "tuodi.stage", stage);
    if (row->source_record_id)
        tdc_header_add(h, "tuodi.record_id", row->source_record_id);
    snprintf(num, sizeof(num), "%" PRId64,
             row->source_bytes > 0 ? row->source_bytes : (int64_t)row->raw_len);
    tdc_header_add(h, "tuodi.source_bytes", num);
    /* room for tuodi.truncated (1-byte lengths, "true") in every case */
    fixed = td_kafka_message_size(0, 0, h) + 2 + sizeof(tdc_truncated_header) - 1 + 4;
    if (fixed + len > c->max_message)
        len = tdc_utf8_cut(row->raw, row->raw_len,
                           c->max_message > fixed ? c->max_message - fixed : 0);
    if (row->raw_cut || len < row->raw_len)
        tdc_header_add(h, tdc_truncated_header, "true");
    c->stats.rejected++;
    c->unit.rejected++;
    tdc_reasons_add(&c->unit.reasons, masked);
    tdc_metrics_reject(c->metrics, row->reject_reason && reason &&
                                           strcmp(reason, row->reject_reason) == 0
                                       ? TDC_REASON_BAD_ROW
                                       : tdc_reason_classify(reason));
    return tdc_produce(c, c->cfg.topics.dlq, NULL, 0, row->raw, len, h);
}

static int tdc_sink_record(void *opaque, const char *key, avro_value_t *value,
                           const tdc_row *first, const tdc_row *last)
{
    tdc_connector *c = opaque;
    td_error err = {0};
    size_t size;
    int r;

    r = td_avro_encode(c->record_schema, value, &c->buf, &err);
    if (r < 0)
        return td_error_set(&c->sink_err, r, "%s row %" PRId64 ": cannot encode the record: %s",
                            first->unit, first->row, err.msg);
    size = td_kafka_message_size(strlen(key), c->buf.len, NULL);
    if (size > c->max_message) {
        /* Kafka would refuse it: each of its rows becomes a dead letter */
        char why[512];

        if (first != last)
            snprintf(why, sizeof(why), "the household record of rows %" PRId64 "-%" PRId64
                     " is %zu bytes, more than the %zu a Kafka message may have (%s)",
                     first->row, last->row, size, c->max_message, c->max_message_why);
        else
            snprintf(why, sizeof(why), "the record of this row is %zu bytes, more than the %zu "
                     "a Kafka message may have (%s)", size, c->max_message, c->max_message_why);
        for (const tdc_row *row = first; row <= last; row++)
            if ((r = tdc_dead_letter(c, row, "", why, "produce")) < 0)
                return r;
        return 0;
    }
    r = tdc_produce(c, c->cfg.topics.records, key, strlen(key), c->buf.data, c->buf.len, NULL);
    if (r < 0)
        return r;
    c->stats.records++;
    c->stats.published += last->row - first->row + 1;
    c->unit.published += last->row - first->row + 1;
    return 0;
}

static int tdc_sink_reject(void *opaque, const tdc_row *row, const char *column, const char *reason)
{
    return tdc_dead_letter(opaque, row, column, reason, "validate");
}

/* Delivery reports (served by rd_kafka_poll and the commit's flush, on the
 * connector's thread): note a message a broker refused for its size, which
 * makes the commit fail; tdc_commit then reads the limits again. */
static void tdc_delivered(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    tdc_connector *c = opaque;
    rd_kafka_headers_t *h = NULL;

    (void)rk;
    if (m->err != RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE &&
        m->err != RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE)
        return;
    if (rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR)
        h = NULL;
    c->refused_bytes = td_kafka_message_size(m->key_len, m->len, h);
    atomic_store(&c->refused, true);
}

/* librdkafka's statistics (statistics.interval.ms, with http.listen set),
 * served by rd_kafka_poll on the connector's thread. */
static int tdc_kafka_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
    tdc_connector *c = opaque;
    int up = tdc_metrics_kafka_stats(c->metrics, json, len);

    (void)rk;
    if (up >= 0)
        c->brokers_up = up;
    return 0; /* librdkafka frees json */
}

/* What /ready and tuodi_connector_ready say: ready once started, while
 * commits go through and the producer is connected to a broker. */
static void tdc_ready_update(tdc_connector *c)
{
    const char *why = NULL;
    int ready;

    if (!c->started)
        why = "starting: connecting to Kafka, reading the committed position";
    else if (c->broker_down_logged)
        why = "Kafka unavailable: the commit is not done yet, retrying";
    else if (c->brokers_up == 0)
        why = "no connection to any Kafka broker (librdkafka statistics)";
    ready = why == NULL;
    if (ready == c->ready_said)
        return;
    c->ready_said = ready;
    td_http_set_ready(c->http, ready, why);
    tdc_metrics_ready(c->metrics, ready);
}

/* The loop is alive (/health), and what /ready says. */
static void tdc_beat(tdc_connector *c)
{
    td_http_beat(c->http);
    tdc_ready_update(c);
}

/* ----------------------------------------------------------- set-up */

static int tdc_build_source(const tdc_config *cfg, tdc_source **ret, td_error *err)
{
    if (cfg->use_postgres && cfg->source.postgres.mode == TDC_PG_LOGICAL)
        return tdc_pglogical_new(&cfg->source.postgres, cfg->instance, ret, err);
    if (cfg->use_postgres)
        return tdc_postgres_new(&cfg->source.postgres, ret, err);
    return tdc_spooldir_new(&cfg->source.spooldir, ret, err);
}

int tdc_connector_new(tdc_config *cfg, const char *config_path, tdc_connector **ret,
                      td_error *err)
{
    tdc_connector *c = calloc(1, sizeof(*c));
    int r;

    if (!c) {
        tdc_config_free(cfg);
        return td_error_set(err, -ENOMEM, "out of memory");
    }
    c->cfg = *cfg;
    memset(cfg, 0, sizeof(*cfg));
    c->config_path = config_path ? strdup(config_path) : NULL;

    r = td_avro_registry_new(&c->reg);
    if (r < 0) {
        td_error_set(err, r, "out of memory");
        goto fail;
    }
    r = td_avro_registry_load_dir(c->reg, c->cfg.schemas_dir, NULL, err);
    if (r < 0)
        goto fail;
    {
        /* earlier versions, to read what older connectors wrote */
        char hist[4096];
        struct stat st;
        snprintf(hist, sizeof(hist), "%s/history", c->cfg.schemas_dir);
        if (stat(hist, &st) == 0 && (r = td_avro_registry_load_dir(c->reg, hist, NULL, err)) < 0)
            goto fail;
    }
    c->record_schema = td_avro_registry_find_name(c->reg, tdc_record_schema_names[c->cfg.dataset]);
    c->offset_schema = td_avro_registry_find_name(c->reg, "cn.tuodi.ConnectorOffset");
    if (!c->record_schema || !c->offset_schema) {
        r = td_error_set(err, -ENOENT, "%s: the schemas %s and cn.tuodi.ConnectorOffset are needed",
                         c->cfg.schemas_dir, tdc_record_schema_names[c->cfg.dataset]);
        goto fail;
    }
    r = td_avro_decoder_new(c->reg, c->offset_schema, &c->offset_dec, err);
    if (r < 0)
        goto fail;
    r = td_avro_schema_value_new(c->offset_schema, &c->offset_value, err);
    if (r < 0)
        goto fail;
    c->have_offset_value = true;

    r = tdc_dataset_new((tdc_dataset_kind)c->cfg.dataset, &c->cfg.mapping, c->record_schema,
                        c->cfg.instance, &c->ds, err);
    if (r < 0)
        goto fail;
    r = tdc_build_source(&c->cfg, &c->src, err);
    if (r < 0)
        goto fail;

    c->metrics = tdc_metrics_new(c->cfg.instance, tdc_dataset_kind_names[c->cfg.dataset],
                                 TUODI_VERSION);
    if (!c->metrics ||
        tdc_metrics_spool(c->metrics, c->cfg.use_postgres ? NULL : &c->cfg.source.spooldir) < 0) {
        r = td_error_set(err, -ENOMEM, "out of memory");
        goto fail;
    }
    c->brokers_up = -1;
    c->ready_said = -1;

    snprintf(c->txn_id, sizeof(c->txn_id), "tuodi-connector.%s", c->cfg.instance);
    tdc_position_key(&c->cfg, c->source_id, sizeof(c->source_id), c->pos_key,
                     sizeof(c->pos_key));
    *ret = c;
    return 0;
fail:
    tdc_connector_free(c);
    return r;
}

/* --connect: the brokers answer, and the topics exist or will be created. */
static int tdc_check_kafka(const tdc_config *cfg, const char *config_path, td_error *err)
{
    const char *const topics[3] = {cfg->topics.records, cfg->topics.dlq, cfg->topics.offsets};
    static const char *const keys[3] = {"topics.records", "topics.dlq", "topics.offsets"};

    return td_kafka_check_topics(&cfg->kafka, config_path, topics, keys,
                                 cfg->topics.create ? 0 : 3, TDC_PROBE_TIMEOUT_MS,
                                 "topics.create is false; tuodictl topics create makes it",
                                 err);
}

/* --connect, after tdc_check_kafka: with the default positions topic, says
 * (a note, not a problem) when the old shared topic holds this instance's
 * position and its own topic does not: the start takes it over. Reads
 * both topics, writes nothing; a topic it may not see or that does not
 * exist counts as holding nothing. */
static void tdc_check_shared_position(const tdc_config *cfg, const char *config_path, FILE *out)
{
    char source_id[TDC_UNIT_MAX + 16], key[400];
    td_error e = {0};
    int r;

    if (!cfg->offsets_default)
        return;
    tdc_position_key(cfg, source_id, sizeof(source_id), key, sizeof(key));
    r = tdc_offsets_read(&cfg->kafka, cfg->topics.offsets, key, NULL, TDC_PROBE_TIMEOUT_MS,
                         TDC_OFFSETS_QUIET, NULL, &e);
    if (r != 0 && r != -ENOENT)
        return; /* a position of its own, or a problem the start reports */
    r = tdc_offsets_read(&cfg->kafka, TDC_OFFSETS_TOPIC_SHARED, key, NULL, TDC_PROBE_TIMEOUT_MS,
                         TDC_OFFSETS_QUIET, NULL, &e);
    if (r == 1)
        fprintf(out, "%s%stopics.offsets: note: the position of %s is in the old shared topic "
                TDC_OFFSETS_TOPIC_SHARED " and not in %s: the next start takes it over "
                "(docs/connector.md, \"Positions\")\n",
                config_path ? config_path : "", config_path ? ": " : "", key,
                cfg->topics.offsets);
    else if (r == -EACCES)
        fprintf(out, "%s%stopics.offsets: note: %s holds no position of %s, and the old shared "
                "topic " TDC_OFFSETS_TOPIC_SHARED " may not be read (not authorised): if this "
                "instance ran before with its position there, see docs/connector.md, "
                "\"Positions\", before the first start\n",
                config_path ? config_path : "", config_path ? ": " : "", cfg->topics.offsets,
                key);
}

int tdc_connector_check(const tdc_config *cfg, const char *config_path, bool connect,
                        FILE *out)
{
    td_avro_registry *reg = NULL;
    const td_avro_schema *record = NULL, *offset = NULL;
    tdc_dataset *ds = NULL;
    rd_kafka_conf_t *conf = NULL;
    td_check ck = {.out = out};
    td_error *step = &ck.step;
    char txn_id[200];
    int r;

    if (!cfg || !out)
        return -EINVAL;
    /* schemas and mapping: what tdc_connector_new() builds */
    r = td_check_step(&ck, td_path_check(config_path, "schemas_dir", cfg->schemas_dir,
                                         TD_PATH_READ_DIR, "the Avro schemas are read from it",
                                         step));
    if (r == 0) {
        char hist[4096];
        struct stat st;

        td_check_step(&ck, td_avro_registry_new(&reg));
        if (reg) {
            td_check_step(&ck, td_avro_registry_load_dir(reg, cfg->schemas_dir, NULL, step));
            snprintf(hist, sizeof(hist), "%s/history", cfg->schemas_dir);
            if (stat(hist, &st) == 0)
                td_check_step(&ck, td_avro_registry_load_dir(reg, hist, NULL, step));
            record = td_avro_registry_find_name(reg, tdc_record_schema_names[cfg->dataset]);
            offset = td_avro_registry_find_name(reg, "cn.tuodi.ConnectorOffset");
            if (!record || !offset)
                td_check_step(&ck, td_path_problem(step, config_path, "schemas_dir", -ENOENT,
                                                   "%s: the schemas %s and "
                                                   "cn.tuodi.ConnectorOffset are needed",
                                                   cfg->schemas_dir,
                                                   tdc_record_schema_names[cfg->dataset]));
        }
    }
    if (record) {
        struct tdc_mapping_config mapping = cfg->mapping; /* shallow: read only */

        /* a key file this user cannot read: said where it is written, and
         * the rest of the mapping still checked without it */
        if (mapping.pseudonymize.key_file &&
            td_check_step(&ck, td_path_check(config_path, "mapping.pseudonymize.key_file",
                                             mapping.pseudonymize.key_file, TD_PATH_READ_FILE,
                                             "person keys are pseudonymised with it",
                                             step)) < 0)
            mapping.pseudonymize.key_file = NULL;
        td_check_step(&ck, tdc_dataset_new((tdc_dataset_kind)cfg->dataset, &mapping, record,
                                           cfg->instance, &ds, step));
        tdc_dataset_free(ds);
    }
    /* the source: directories or connection settings, touching nothing */
    if (cfg->use_postgres)
        td_check_done(&ck, tdc_postgres_check(&cfg->source.postgres, config_path,
                                              "source.postgres", out));
    else
        td_check_done(&ck, tdc_spooldir_check(&cfg->source.spooldir, config_path,
                                              "source.spooldir", out));
    /* Kafka: the producer's settings and the files they name, no connection */
    snprintf(txn_id, sizeof(txn_id), "tuodi-connector.%s", cfg->instance);
    td_check_step(&ck, td_kafka_producer_conf_new(NULL, txn_id, &cfg->kafka, &conf, step));
    if (conf)
        rd_kafka_conf_destroy(conf);
    td_check_done(&ck, td_kafka_props_check_files(&cfg->kafka, config_path, "kafka", out));
    if (connect && td_check_step(&ck, tdc_check_kafka(cfg, config_path, step)) == 0)
        tdc_check_shared_position(cfg, config_path, out);
    td_avro_registry_free(reg);
    return ck.rc;
}

tdc_connector *tdc_connector_free(tdc_connector *c)
{
    if (!c)
        return NULL;
    if (c->producer) {
        if (c->txn_open) {
            /* after a stop, no longer than its deadline */
            td_error e = {0};
            td_kafka_txn_abort(c->producer, 5000, &e);
        }
        td_kafka_destroy(c->producer);
    }
    td_http_stop(c->http);
    tdc_metrics_free(c->metrics);
    tdc_source_free(c->src);
    tdc_dataset_free(c->ds);
    if (c->have_offset_value)
        avro_value_decref(&c->offset_value);
    td_avro_decoder_free(c->offset_dec);
    td_avro_registry_free(c->reg);
    td_avro_buf_done(&c->buf);
    tdc_config_free(&c->cfg);
    free(c->config_path);
    free(c);
    return NULL;
}

void tdc_connector_stop(tdc_connector *c)
{
    atomic_store(&c->stop, true);
}

const tdc_stats *tdc_connector_stats(const tdc_connector *c)
{
    return &c->stats;
}

static bool tdc_stopping(tdc_connector *c)
{
    return atomic_load(&c->stop) || td_signal_stop_requested();
}

/* Waits up to ms for the source's fd or a signal. */
static void tdc_wait(tdc_connector *c, int ms)
{
    struct pollfd p[2];
    nfds_t n = 0;
    int64_t until = td_time_mono_ms() + ms;

    if (td_signal_fd() >= 0)
        p[n++] = (struct pollfd){.fd = td_signal_fd(), .events = POLLIN};
    if (c->src && tdc_source_wait_fd(c->src) >= 0)
        p[n++] = (struct pollfd){.fd = tdc_source_wait_fd(c->src), .events = POLLIN};
    /* Serve the producer's callbacks while waiting, in small steps. */
    while (!tdc_stopping(c)) {
        int64_t left = until - td_time_mono_ms();

        tdc_beat(c);
        if (left <= 0)
            break;
        if (poll(p, n, left > 100 ? 100 : (int)left) > 0)
            break;
        if (c->producer)
            rd_kafka_poll(c->producer, 0);
    }
}

static int tdc_topics(tdc_connector *c, td_error *err)
{
    td_kafka_topic_spec specs[3];
    td_kafka_props compact = {0}, records = {0}, dlq = {0};
    char ms[32];
    int r = 0;

    snprintf(ms, sizeof(ms), "%" PRId64, c->cfg.topics.retention_ms);
    r = td_kafka_props_add(&compact, "cleanup.policy", "compact", NULL);
    if (r == 0)
        r = td_kafka_props_add(&records, "retention.ms", ms, NULL);
    snprintf(ms, sizeof(ms), "%" PRId64, c->cfg.topics.dlq_retention_ms);
    if (r == 0)
        r = td_kafka_props_add(&dlq, "retention.ms", ms, NULL);
    if (r < 0) {
        r = td_error_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    memset(specs, 0, sizeof(specs));
    specs[0].name = c->cfg.topics.records;
    specs[0].partitions = (int)c->cfg.topics.partitions;
    specs[0].replication_factor = (int)c->cfg.topics.replication_factor;
    /* the roster: latest Household per id; the others: kept for matchd's
     * rebuild (deploy/topics.yaml says the same) */
    specs[0].config = c->cfg.dataset == TDC_DATASET_ROSTER ? &compact : &records;
    specs[1].name = c->cfg.topics.dlq;
    specs[1].partitions = 1; /* one partition: rejections stay in file order */
    specs[1].replication_factor = (int)c->cfg.topics.replication_factor;
    specs[1].config = &dlq;
    specs[2].name = c->cfg.topics.offsets;
    specs[2].partitions = TD_KAFKA_OFFSETS_TOPIC_PARTITIONS;
    specs[2].replication_factor = (int)c->cfg.topics.replication_factor;
    specs[2].config = &compact;
    r = td_kafka_topics_ensure(c->producer, specs, 3, TDC_STARTUP_TIMEOUT_MS, err);
out:
    td_kafka_props_clear(&compact);
    td_kafka_props_clear(&records);
    td_kafka_props_clear(&dlq);
    return r;
}

/* An integer property of conf as librdkafka holds it (-1: unreadable). */
static int64_t tdc_conf_int(const rd_kafka_conf_t *conf, const char *key)
{
    char v[64];
    size_t n = sizeof(v);

    if (rd_kafka_conf_get(conf, key, v, &n) != RD_KAFKA_CONF_OK)
        return -1;
    return atoll(v);
}

/* Makes c->producer from the config, with message.max.bytes and batch.size
 * lowered to c->producer_cap when that is set. */
static int tdc_new_producer(tdc_connector *c, td_error *err)
{
    rd_kafka_conf_t *conf = NULL;
    char v[32], errstr[256];
    int64_t batch;
    int r;

    r = td_kafka_producer_conf_new(NULL, c->txn_id, &c->cfg.kafka, &conf, err);
    if (r < 0)
        return r;
    c->producer_max = tdc_conf_int(conf, "message.max.bytes");
    batch = tdc_conf_int(conf, "batch.size");
    snprintf(v, sizeof(v), "%" PRId64, c->producer_cap);
    if (c->producer_cap > 0 && c->producer_max > c->producer_cap) {
        if (rd_kafka_conf_set(conf, "message.max.bytes", v, errstr, sizeof(errstr)) !=
            RD_KAFKA_CONF_OK) {
            rd_kafka_conf_destroy(conf);
            return td_error_set(err, -EINVAL, "kafka.message.max.bytes=%s: %s", v, errstr);
        }
        c->producer_max = c->producer_cap;
    }
    if (c->producer_cap > 0 && batch > c->producer_cap &&
        rd_kafka_conf_set(conf, "batch.size", v, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        return td_error_set(err, -EINVAL, "kafka.batch.size=%s: %s", v, errstr);
    }
    if (c->http) {
        /* the producer's figures for /metrics (the endpoint started at
         * the start: a reload does not change it), unless kafka: sets them */
        if (!td_kafka_props_find(&c->cfg.kafka, "statistics.interval.ms") &&
            rd_kafka_conf_set(conf, "statistics.interval.ms", "5000", errstr, sizeof(errstr)) !=
                RD_KAFKA_CONF_OK) {
            rd_kafka_conf_destroy(conf);
            return td_error_set(err, -EINVAL, "statistics.interval.ms: %s", errstr);
        }
        rd_kafka_conf_set_stats_cb(conf, tdc_kafka_stats);
    }
    rd_kafka_conf_set_opaque(conf, c);
    rd_kafka_conf_set_dr_msg_cb(conf, tdc_delivered);
    return td_kafka_new(RD_KAFKA_PRODUCER, conf, &c->producer, err);
}

/* Reads the topics' max.message.bytes and works out c->max_message, the
 * largest message that both the producer and every topic take. If the
 * producer would send batches bigger than a topic takes, sets
 * c->producer_cap and returns 1: the caller makes a new producer. A topic
 * that takes too little for the smallest row is refused (-EINVAL). 0, 1 or
 * -errno (-ETIMEDOUT: try again). */
static int tdc_read_limits(tdc_connector *c, td_error *err)
{
    const char *topics[3] = {c->cfg.topics.records, c->cfg.topics.dlq, c->cfg.topics.offsets};
    const td_kafka_prop *mmb = td_kafka_props_find(&c->cfg.kafka, "message.max.bytes");
    int64_t max[3], cap;
    size_t low = 0;
    td_error e = {0};
    int r;

    r = td_kafka_topics_max_message_bytes(c->producer, topics, 3, TDC_STARTUP_TIMEOUT_MS, max,
                                          &e);
    if (r == -ETIMEDOUT)
        return td_error_set(err, r, "%s", e.msg);
    if (r < 0) {
        /* not allowed to describe, or not created yet (topics.create: false) */
        td_log_warning("cannot read the topics' max.message.bytes (%s); assuming Kafka's "
                       "default, %d", e.msg, TD_KAFKA_BROKER_DEFAULT_MAX_MESSAGE_BYTES);
        for (size_t i = 0; i < 3; i++)
            max[i] = TD_KAFKA_BROKER_DEFAULT_MAX_MESSAGE_BYTES;
    }
    for (size_t i = 1; i < 3; i++)
        if (max[i] < max[low])
            low = i;
    cap = max[low] - (int64_t)td_kafka_batch_overhead((size_t)max[low]);
    if (cap < TDC_ROW_HEADROOM + TDC_ROW_MIN)
        return td_error_set(err, -EINVAL, "topic %s takes record batches of at most %" PRId64
                            " bytes (max.message.bytes): too little for a row of %d bytes and "
                            "its record or dead letter; raise it to at least %" PRId64,
                            topics[low], max[low], TDC_ROW_MIN,
                            (int64_t)TDC_ROW_HEADROOM + TDC_ROW_MIN +
                                (int64_t)td_kafka_batch_overhead(2 * (TDC_ROW_HEADROOM +
                                                                      TDC_ROW_MIN)));
    if (c->producer_max < TDC_ROW_HEADROOM + TDC_ROW_MIN)
        return td_error_set(err, -EINVAL, "%s%skafka.message.max.bytes: %" PRId64 " is too "
                            "little for a row of %d bytes and its record or dead letter; "
                            "use at least %d", mmb && mmb->origin ? mmb->origin : "",
                            mmb && mmb->origin ? ": " : "", c->producer_max, TDC_ROW_MIN,
                            TDC_ROW_HEADROOM + TDC_ROW_MIN);
    if (c->producer_max > cap && c->producer_cap != cap) {
        td_log_notice("topic %s takes record batches of at most %" PRId64 " bytes "
                      "(max.message.bytes): kafka.message.max.bytes and kafka.batch.size "
                      "lowered from %" PRId64 " to %" PRId64 " to agree", topics[low], max[low],
                      c->producer_max, cap);
        c->producer_cap = cap;
        return 1;
    }
    if (c->producer_max < cap || (c->producer_max == cap && c->producer_cap != cap)) {
        c->max_message = (size_t)c->producer_max;
        snprintf(c->max_message_why, sizeof(c->max_message_why), "kafka.message.max.bytes");
    } else {
        /* the topic's limit, directly or through the lowered producer */
        c->max_message = (size_t)cap;
        snprintf(c->max_message_why, sizeof(c->max_message_why),
                 "max.message.bytes %" PRId64 " of topic %s", max[low], topics[low]);
    }
    return 0;
}

/* Lowers cfg's row limit (spooldir.max_row_bytes) to what one Kafka message
 * carries with the row's record or dead letter, with a notice. True if it
 * lowered it. */
static bool tdc_clamp_rows(tdc_connector *c, tdc_config *cfg)
{
    int64_t fit = (int64_t)c->max_message - TDC_ROW_HEADROOM;

    if (cfg->use_postgres || c->max_message == 0 || cfg->source.spooldir.max_row_bytes <= fit)
        return false;
    td_log_notice("%s: source.spooldir.max_row_bytes lowered from %" PRId64 " to %" PRId64
                  ": a row, with its record or its dead letter's headers, must fit in one "
                  "Kafka message of %zu bytes (%s)", c->config_path ? c->config_path : "config",
                  cfg->source.spooldir.max_row_bytes, fit, c->max_message, c->max_message_why);
    cfg->source.spooldir.max_row_bytes = fit;
    return true;
}

/* Makes the producer, the topics (if configured), reads Kafka's size limits
 * and initialises transactions; retries while Kafka times out, until
 * stopped. */
static int tdc_start_kafka(tdc_connector *c, td_error *err)
{
    int r;
    bool logged = false;

    for (;;) {
        td_error e = {0};

        if (!c->producer && (r = tdc_new_producer(c, err)) < 0)
            return r;
        r = c->cfg.topics.create ? tdc_topics(c, &e) : 0;
        if (r == 0)
            r = tdc_read_limits(c, &e);
        if (r == 1) {
            /* batches too big for a topic: a producer with smaller ones */
            td_kafka_destroy(c->producer);
            c->producer = NULL;
            continue;
        }
        if (r == 0)
            r = td_kafka_txn_init(c->producer, (int)c->cfg.transaction.timeout_ms, &e);
        if (r == 0)
            break;
        if (r != -ETIMEDOUT || tdc_stopping(c))
            return td_error_set(err, r, "%s", e.msg);
        if (!logged)
            td_log_warning("Kafka not reachable yet (%s); retrying", e.msg);
        logged = true;
        tdc_wait(c, TDC_RETRY_WAIT_MS);
    }
    if (logged)
        td_log_notice("Kafka reachable again");
    return 0;
}

static int tdc_begin(tdc_connector *c, td_error *err);

/* Reads the position under c->pos_key from topic into c->committed,
 * retrying while Kafka times out, until stopped: 1 (found), 0 (none) or
 * -errno. */
static int tdc_read_position_from(tdc_connector *c, const char *topic, unsigned flags,
                                  td_error *err)
{
    bool logged = false;
    int r;

    for (;;) {
        td_error e = {0};
        r = tdc_offsets_read(&c->cfg.kafka, topic, c->pos_key, c->offset_dec,
                             TDC_STARTUP_TIMEOUT_MS, flags, &c->committed, &e);
        if (r >= 0)
            return r;
        if (r != -ETIMEDOUT || tdc_stopping(c))
            return td_error_set(err, r, "reading the committed position: %s", e.msg);
        if (!logged)
            td_log_warning("offsets topic not readable yet (%s); retrying", e.msg);
        logged = true;
        tdc_wait(c, TDC_RETRY_WAIT_MS);
    }
}

/* Writes c->committed to the instance's positions topic in a transaction
 * of its own, holding nothing else: the position taken over from the old
 * shared topic is then in the new one before any row is read. */
static int tdc_write_position(tdc_connector *c, td_error *err)
{
    td_error e = {0};
    int r;

    r = tdc_begin(c, &e);
    if (r == 0)
        r = tdc_offsets_to_value(&c->committed, c->cfg.instance, c->source_id,
                                 td_time_wall_ms(), &c->offset_value, &e);
    if (r == 0)
        r = td_avro_encode(c->offset_schema, &c->offset_value, &c->buf, &e);
    if (r == 0 && (r = tdc_produce(c, c->cfg.topics.offsets, c->pos_key, strlen(c->pos_key),
                                   c->buf.data, c->buf.len, NULL)) < 0)
        e = c->sink_err;
    if (r == 0)
        r = td_kafka_txn_commit(c->producer, (int)c->cfg.transaction.timeout_ms, &e);
    if (r < 0 && c->txn_open) {
        td_error ae = {0};
        (void)td_kafka_txn_abort(c->producer, (int)c->cfg.transaction.timeout_ms, &ae);
    }
    c->txn_open = false;
    if (r < 0)
        return td_error_set(err, r, "writing the position taken over into %s: %s",
                            c->cfg.topics.offsets, e.msg);
    return 0;
}

/* With the default positions topic and nothing in it under c->pos_key:
 * the old shared topic (TDC_OFFSETS_TOPIC_SHARED), where every instance's
 * position was before, is read once. A position found there is taken over
 * (written into the instance's topic at once, in a transaction of its own)
 * and said in a notice, so that an upgrade neither starts from zero nor
 * repeats rows. A shared topic that does not exist, or that the brokers'
 * ACLs do not let this user see (a deployment with one topic per instance
 * from the start), holds nothing. 1 (taken over), 0 or -errno. */
static int tdc_take_over_position(tdc_connector *c, td_error *err)
{
    td_error e = {0};
    int r;

    if (!c->cfg.offsets_default)
        return 0;
    r = tdc_read_position_from(c, TDC_OFFSETS_TOPIC_SHARED, TDC_OFFSETS_QUIET, &e);
    if (r == -ENOENT)
        return 0;
    if (r == -EACCES) {
        /* the usual case under deploy/acls.yaml; said once, since an
         * upgrade that applied the ACLs first would start from zero */
        td_log_notice("%s holds no position of %s, and the old shared topic "
                      TDC_OFFSETS_TOPIC_SHARED " may not be read (not authorised): if this "
                      "instance ran before with its position there, stop it and see "
                      "docs/connector.md, \"Positions\"", c->cfg.topics.offsets, c->pos_key);
        return 0;
    }
    if (r < 0)
        return td_error_set(err, r, "the old shared positions topic "
                            TDC_OFFSETS_TOPIC_SHARED ": %s", e.msg);
    if (r == 0)
        return 0;
    r = tdc_write_position(c, err);
    if (r < 0)
        return r;
    td_log_notice("took the position of %s over from the old shared topic "
                  TDC_OFFSETS_TOPIC_SHARED " into %s (docs/connector.md, \"Positions\")",
                  c->pos_key, c->cfg.topics.offsets);
    return 1;
}

static int tdc_read_position(tdc_connector *c, td_error *err)
{
    int r;

    r = tdc_read_position_from(c, c->cfg.topics.offsets, 0, err);
    if (r == -ENOENT && !c->cfg.topics.create)
        return td_error_set(err, r, "%s%stopics.offsets: topic %s does not exist (topics.create "
                            "is false; tuodictl topics create makes it)",
                            c->config_path ? c->config_path : "", c->config_path ? ": " : "",
                            c->cfg.topics.offsets);
    if (r == 0)
        r = tdc_take_over_position(c, err);
    if (r < 0)
        return r;
    if (r == 0) {
        memset(&c->committed, 0, sizeof(c->committed));
        td_log_info("no committed position under %s: starting from the beginning", c->pos_key);
    } else if (c->committed.kind == TDC_POSITION_SPOOLDIR) {
        td_log_info("resuming %s at row %" PRId64 " (byte %" PRId64 ") of %s", c->pos_key,
                    c->committed.next_row, c->committed.next_byte_offset, c->committed.file_name);
    } else if (c->committed.pg_mode == TDC_PG_LOGICAL) {
        td_log_info("resuming %s after %" PRId64 " change(s)%s of the transaction committed "
                    "at LSN %" PRIX32 "/%" PRIX32, c->pos_key, c->committed.lsn_changes,
                    c->committed.lsn_done ? " (all)" : "",
                    (uint32_t)((uint64_t)c->committed.lsn >> 32), (uint32_t)c->committed.lsn);
    } else {
        td_log_info("resuming %s after id %s", c->pos_key, c->committed.last_id);
    }
    return 0;
}

/* --------------------------------------------------------- transactions */

static int tdc_begin(tdc_connector *c, td_error *err)
{
    int r;

    if (c->txn_open)
        return 0;
    r = td_kafka_txn_begin(c->producer, err);
    if (r < 0)
        return r;
    c->txn_open = true;
    c->txn_rows = 0;
    c->txn_started_ms = td_time_mono_ms();
    return 0;
}

/* Throws away what the aborted transaction held and goes back to the last
 * committed position: the source re-reads from there and a fresh dataset
 * forgets rows it buffered. */
static int tdc_rewind(tdc_connector *c, td_error *err)
{
    int r;

    tdc_dataset_reset(c->ds);
    r = tdc_source_resume(c->src, c->committed.kind ? &c->committed : NULL, err);
    if (r < 0)
        return r;
    c->last = c->committed;
    c->stats = c->stats_committed;
    c->unit = c->unit_committed;
    c->stats.aborts++;
    c->stats_committed.aborts++;
    tdc_metrics_aborted(c->metrics);
    return 0;
}

static void tdc_status(tdc_connector *c)
{
    td_notify_status("%s: %s; %" PRId64 " rows, %" PRId64 " published, %" PRId64 " rejected",
                     c->cfg.instance, tdc_source_status(c->src), c->stats.rows,
                     c->stats.published, c->stats.rejected);
}

static int tdc_read_position(tdc_connector *c, td_error *err);
static int tdc_rewind(tdc_connector *c, td_error *err);

/* After Kafka's limits are known: lowers the row limit if it must, and
 * then rebuilds the source with it (the caller resumes it). */
static int tdc_apply_limits(tdc_connector *c, td_error *err)
{
    tdc_source *src = NULL;
    int r;

    if (!tdc_clamp_rows(c, &c->cfg))
        return 0;
    r = tdc_build_source(&c->cfg, &src, err);
    if (r < 0)
        return r;
    tdc_source_free(c->src);
    c->src = src;
    return 0;
}

/* A new producer (which reads Kafka's limits again), the committed position
 * read back, and the source rewound to it. */
static int tdc_restart(tdc_connector *c, td_error *err)
{
    int r;

    td_kafka_destroy(c->producer);
    c->producer = NULL;
    c->txn_open = false;
    atomic_store(&c->refused, false);
    r = tdc_start_kafka(c, err);
    if (r == 0)
        r = tdc_apply_limits(c, err);
    if (r == 0)
        r = tdc_read_position(c, err);
    if (r == 0)
        r = tdc_rewind(c, err);
    return r;
}

/* The producer hit a fatal error. If another instance with our name fenced
 * us, stop: that is an operator's mistake to fix. Anything else (for example
 * the broker expired our transaction while it was away, and the abort then
 * fails with INVALID_TXN_STATE) is recovered like a restart: a new producer,
 * init_transactions() (which resolves the old transaction), the committed
 * position read back, and the source rewound to it. Returns 1 when
 * recovered, or a negative errno. */
static int tdc_recover(tdc_connector *c, int rc, td_error *err)
{
    char why[512] = "";
    rd_kafka_resp_err_t fe;
    int r;

    if (!c->producer)
        return rc;
    fe = rd_kafka_fatal_error(c->producer, why, sizeof(why));
    if (fe == RD_KAFKA_RESP_ERR_NO_ERROR)
        return rc;
    if (fe == RD_KAFKA_RESP_ERR__FENCED || fe == RD_KAFKA_RESP_ERR_PRODUCER_FENCED) {
        /* The coordinator also bumps the epoch when it expires a transaction
         * that stayed open longer than transaction.timeout.ms (the broker
         * was away): that looks like a fence but is ours to recover from. A
         * fence inside the timeout can only be a newer instance. */
        const td_kafka_prop *t = td_kafka_props_find(&c->cfg.kafka, "transaction.timeout.ms");
        int64_t timeout = t ? atoll(t->value) : 60000;
        if (td_time_mono_ms() - c->txn_started_ms < timeout)
            return td_error_set(err, -ENOTRECOVERABLE,
                                "fenced: another connector with the instance name %s is running (%s)",
                                c->cfg.instance, why);
    }
    td_log_warning("the producer failed (%s: %s); starting a new one and resuming from the "
                   "committed position", rd_kafka_err2name(fe), why);
    r = tdc_restart(c, err);
    return r < 0 ? r : 1;
}

/* Commits the open transaction with the position it reached. Returns 0
 * (committed), 1 (aborted and rewound: the caller just goes on) or a fatal
 * negative errno. */
static int tdc_commit(tdc_connector *c, td_error *err)
{
    const tdc_position *safe;
    tdc_position pos;
    td_error e = {0};
    int64_t started;
    int r;

    if (!c->txn_open)
        return 0;
    safe = tdc_dataset_safe_position(c->ds);
    if (safe)
        pos = *safe;
    else
        tdc_source_position(c->src, &pos);

    if (pos.kind != TDC_POSITION_NONE) {
        r = tdc_offsets_to_value(&pos, c->cfg.instance, c->source_id, td_time_wall_ms(),
                                 &c->offset_value, &e);
        if (r == 0)
            r = td_avro_encode(c->offset_schema, &c->offset_value, &c->buf, &e);
        if (r == 0)
            r = tdc_produce(c, c->cfg.topics.offsets, c->pos_key, strlen(c->pos_key),
                            c->buf.data, c->buf.len, NULL);
        if (r < 0)
            return td_error_set(err, r, "writing the position: %s%s", e.msg, c->sink_err.msg);
    }

    started = td_time_mono_us();
    for (;;) {
        r = td_kafka_txn_commit(c->producer, (int)c->cfg.transaction.timeout_ms, &e);
        if (r != -ETIMEDOUT)
            break;
        if (!c->broker_down_logged)
            td_log_warning("commit not done yet (%s): Kafka unavailable? retrying", e.msg);
        c->broker_down_logged = true;
        tdc_beat(c);
        if (tdc_stopping(c)) {
            /* Nothing was committed: the next start redoes these rows. */
            td_log_warning("stopping with the transaction uncommitted; it will be redone");
            return td_error_set(err, -ETIMEDOUT, "%s", e.msg);
        }
    }
    c->txn_open = false;
    if (r == -ENOTRECOVERABLE)
        return tdc_recover(c, td_error_set(err, r, "%s", e.msg), err);
    if (r == -ECANCELED) {
        /* refused: a broker refused a message for its size although it
         * fitted the limits read at start (a topic's max.message.bytes
         * lowered since) */
        bool refused = atomic_exchange(&c->refused, false);

        if (refused)
            td_log_warning("transaction aborted (%s): Kafka refused a message of %zu bytes for "
                           "its size; reading the limits again and redoing it from the "
                           "committed position", e.msg, c->refused_bytes);
        else
            td_log_warning("transaction aborted (%s); redoing it from the committed position",
                           e.msg);
        /* An abort needs the broker too: while it is away, keep trying. */
        while ((r = td_kafka_txn_abort(c->producer, (int)c->cfg.transaction.timeout_ms, &e)) ==
                   -ETIMEDOUT &&
               !tdc_stopping(c))
            td_log_warning("abort not done yet (%s): Kafka unavailable? retrying", e.msg);
        if (r == -ENOTRECOVERABLE)
            return tdc_recover(c, td_error_set(err, r, "%s", e.msg), err);
        if (r < 0)
            return td_error_set(err, r, "%s", e.msg);
        /* refused: a new producer reads the limits again, and the rows are
         * redone under them (dead letters where they must be) */
        r = refused ? tdc_restart(c, err) : tdc_rewind(c, err);
        return r < 0 ? r : 1;
    }
    if (r < 0)
        return td_error_set(err, r, "%s", e.msg);
    if (c->broker_down_logged)
        td_log_notice("Kafka reachable again; committed");
    c->broker_down_logged = false;
    c->committed = pos;
    tdc_metrics_committed(c->metrics, c->stats.rows - c->stats_committed.rows,
                          c->stats.published - c->stats_committed.published,
                          (double)(td_time_mono_us() - started) / 1e6);
    c->stats.transactions++;
    c->stats_committed = c->stats;
    c->unit_committed = c->unit;
    r = tdc_source_committed(c->src, &pos, &e);
    if (r < 0)
        td_log_warning("after commit: %s", e.msg);
    tdc_status(c);
    return 0;
}

/* ------------------------------------------------------------ the loop */

static void tdc_unit_begin(tdc_connector *c, const tdc_row *row)
{
    if (strcmp(c->unit.name, row->unit) == 0 && c->unit.rows > 0)
        return;
    memset(&c->unit, 0, sizeof(c->unit));
    snprintf(c->unit.name, sizeof(c->unit.name), "%s", row->unit);
    c->unit.first_row = row->row;
    c->unit.started_ms = td_time_mono_ms();
}

/* The unit's one line: at info when every row was published, else a
 * warning that says why, with the rejections by reason class (the three
 * commonest quoted; tdc_reasons.h). Forgets the unit's counts. */
static void tdc_unit_log(tdc_connector *c)
{
    int64_t ms = td_time_mono_ms() - c->unit.started_ms;
    tdc_unit_stats *u = &c->unit;
    const char *name = u->name[0]                                  ? u->name
                       : c->committed.kind == TDC_POSITION_SPOOLDIR ? c->committed.file_name
                                                                    : "(empty file)";
    double rate = ms > 0 ? (double)u->rows * 1000.0 / (double)ms : (double)u->rows;

    if (u->rows != u->published + u->rejected)
        td_log_error("%s: %" PRId64 " rows read but %" PRId64 " published + %" PRId64
                     " rejected: please report this", u->name, u->rows, u->published, u->rejected);
    if (u->rejected > 0) {
        char why[2048];

        td_log_warning("%s: %" PRId64 " rows read (from row %" PRId64 ") = %" PRId64
                       " published + %" PRId64 " rejected: %s; %.0f rows/s (the rejected "
                       "rows are in %s with their reasons)", name, u->rows, u->first_row,
                       u->published, u->rejected,
                       tdc_reasons_format(&u->reasons, why, sizeof(why)), rate,
                       c->cfg.topics.dlq);
    } else {
        td_log_info("%s: %" PRId64 " rows read (from row %" PRId64 ") = %" PRId64
                    " published + %" PRId64 " rejected, %.0f rows/s", name, u->rows,
                    u->first_row, u->published, u->rejected, rate);
    }
    memset(u, 0, sizeof(*u));
    c->unit_committed = *u;
    c->unit_logged_ms = td_time_mono_ms();
}

static void tdc_unit_end(tdc_connector *c)
{
    c->stats.units++;
    tdc_unit_log(c);
}

/* A table never ends: its rejections are said when the source is caught up
 * (and at a stop), at most once a minute, in the same line as a file's end,
 * for the rows read since the last one. Call it after a commit. */
static void tdc_table_rejections(tdc_connector *c, bool stopping)
{
    if (!c->cfg.use_postgres || c->unit.rejected == 0 || c->txn_open)
        return;
    if (!stopping && c->unit_logged_ms &&
        td_time_mono_ms() - c->unit_logged_ms < TDC_TABLE_REJECTIONS_MS)
        return;
    tdc_unit_log(c);
}

/* tuodi_connector_source_lag_rows: the source's rows still to read, asked
 * of the source (a count on its database) on this thread, between
 * transactions, at most every TDC_LAG_INTERVAL_MS and only while /metrics
 * is served. A failed count keeps the last figure and is logged once. With
 * it, source_held_seconds of a snapshot-mode postgres source; a
 * logical-mode source gives source_lag_bytes instead. */
static void tdc_lag(tdc_connector *c)
{
    td_error e = {0};
    int64_t now, rows = 0;
    int r;

    if (!c->http || c->txn_open)
        return;
    now = td_time_mono_ms();
    if (now < c->lag_next_ms)
        return;
    c->lag_next_ms = now + TDC_LAG_INTERVAL_MS;
    {
        tdc_postgres_stats st;

        if (tdc_postgres_stats_get(c->src, &st) == 0 && st.snapshot)
            tdc_metrics_source_held(c->metrics, st.held_seconds);
    }
    r = tdc_pglogical_lag_bytes(c->src, &rows, &e);
    if (r == 0)
        tdc_metrics_source_lag_bytes(c->metrics, rows);
    if (r != -EINVAL) {
        /* logical mode: no row count; a failure keeps the last value */
        if (r < 0 && r != -EAGAIN && !c->lag_failed)
            td_log_notice("%s: source_lag_bytes keeps its last value: %s", c->cfg.instance,
                          e.msg);
        c->lag_failed = r < 0 && r != -EAGAIN;
        return;
    }
    r = tdc_source_lag(c->src, &rows, &e);
    if (r == -ENOTSUP)
        return; /* a spool directory: files{state} and spool_waiting_bytes */
    if (r < 0) {
        if (!c->lag_failed)
            td_log_notice("%s: source_lag_rows keeps its last value: %s", c->cfg.instance,
                          e.msg);
        c->lag_failed = true;
        return;
    }
    if (c->lag_failed)
        td_log_info("%s: source_lag_rows counted again", c->cfg.instance);
    c->lag_failed = false;
    tdc_metrics_source_lag(c->metrics, rows);
}

static void tdc_progress(tdc_connector *c)
{
    int64_t now = td_time_mono_ms();

    if (now - c->progress_ms < 1000)
        return;
    c->progress_ms = now;
    tdc_status(c);
    if (isatty(STDERR_FILENO))
        fprintf(stderr, "\r%s: %s  %" PRId64 " rows/s   ", c->cfg.instance,
                tdc_source_status(c->src),
                now > c->unit.started_ms ? c->unit.rows * 1000 / (now - c->unit.started_ms) : 0);
}

/* SIGHUP: parse and validate the file into a new config; build its dataset
 * and source; swap them in between transactions. A bad file or a failed
 * build keeps everything as it was. */
static void tdc_reload(tdc_connector *c)
{
    tdc_config ncfg;
    tdc_dataset *ds = NULL;
    tdc_source *src = NULL;
    const td_avro_schema *schema;
    td_error e = {0};
    int r;

    td_notify_reloading();
    memset(&ncfg, 0, sizeof(ncfg));
    r = tdc_config_load(c->config_path, &ncfg, &e);
    if (r < 0) {
        td_log_error("reload: keeping the running config: %s", e.msg);
        goto out;
    }
    if (strcmp(ncfg.instance, c->cfg.instance) != 0 || ncfg.dataset != c->cfg.dataset ||
        ncfg.use_postgres != c->cfg.use_postgres) {
        td_log_error("reload: instance, dataset and source kind change only with a restart; "
                     "keeping the running config");
        tdc_config_free(&ncfg);
        goto out;
    }
    tdc_clamp_rows(c, &ncfg);
    schema = c->record_schema;
    r = tdc_dataset_new((tdc_dataset_kind)ncfg.dataset, &ncfg.mapping, schema, ncfg.instance, &ds, &e);
    if (r == 0)
        r = tdc_build_source(&ncfg, &src, &e);
    if (r == 0)
        r = tdc_source_resume(src, c->committed.kind ? &c->committed : NULL, &e);
    if (r < 0) {
        td_log_error("reload: keeping the running config: %s", e.msg);
        tdc_dataset_free(ds);
        tdc_source_free(src);
        tdc_config_free(&ncfg);
        goto out;
    }
    tdc_dataset_free(c->ds);
    tdc_source_free(c->src);
    c->ds = ds;
    c->src = src;
    c->lag_next_ms = 0; /* count the new source's lag at once */
    if (!ncfg.use_postgres && tdc_metrics_spool(c->metrics, &ncfg.source.spooldir) < 0)
        td_log_warning("reload: out of memory: /metrics counts the old spool directories");
    /* kafka settings take effect at the next start; the rest now. Say so
     * when they changed (a rotated password file, a new CA): the key, never
     * the value. */
    {
        const char *k = td_kafka_props_changed(&c->cfg.kafka, &ncfg.kafka);
        if (k)
            td_log_warning("reload: kafka.%s changed: the kafka: settings take effect only "
                           "at the next start (systemctl restart the unit; nothing is lost "
                           "or repeated)", k);
    }
    td_kafka_props_clear(&ncfg.kafka);
    ncfg.kafka = c->cfg.kafka;
    memset(&c->cfg.kafka, 0, sizeof(c->cfg.kafka));
    tdc_config_free(&c->cfg);
    c->cfg = ncfg;
    td_log_set_level((td_log_level)(TD_LOG_ERR + c->cfg.log_level));
    td_log_notice("reloaded %s", c->config_path);
out:
    td_notify_ready(tdc_source_status(c->src));
}

/* Start-up and the loop, until a stop request (0) or a failure. */
static int tdc_loop(tdc_connector *c, td_error *err)
{
    tdc_sink sink = {.record = tdc_sink_record, .reject = tdc_sink_reject, .opaque = c};
    int r, next;

    r = tdc_start_kafka(c, err);
    if (r == 0)
        r = tdc_apply_limits(c, err);
    if (r == 0)
        r = tdc_read_position(c, err);
    if (r < 0 && tdc_stopping(c)) {
        /* SIGTERM while starting: nothing was read, nothing to commit */
        td_log_notice("%s: stopped while starting", c->cfg.instance);
        c->started = false;
        return 0;
    }
    if (r < 0)
        return r;
    r = tdc_source_resume(c->src, c->committed.kind ? &c->committed : NULL, err);
    if (r < 0)
        return r;
    if (tdc_stopping(c)) {
        td_log_notice("%s: stopped while starting", c->cfg.instance);
        return 0;
    }
    c->started = true;
    c->last = c->committed;
    td_notify_ready(tdc_source_status(c->src));
    tdc_log_cb(TD_LOG_NOTICE, "%s: running (%s -> %s)", c->cfg.instance,
               tdc_source_status(c->src), c->cfg.topics.records);

    while (!tdc_stopping(c)) {
        tdc_row row;

        td_notify_watchdog();
        /* a row takes microseconds: a beat every 1024 turns is plenty for
         * /health (stall_after: a minute) and costs no clock read per row;
         * the waits beat every time */
        if ((c->turns++ & 1023) == 0)
            tdc_beat(c);
        if (td_signal_take_reload()) {
            r = tdc_commit(c, err);
            if (r < 0)
                return r;
            tdc_reload(c);
        }
        if (c->txn_open && (c->txn_rows >= c->cfg.transaction.max_records ||
                            td_time_mono_ms() - c->txn_started_ms >=
                                c->cfg.transaction.max_interval_ms)) {
            r = tdc_commit(c, err);
            if (r < 0)
                return r;
        }

        tdc_lag(c);
        td_error_clear(&c->sink_err);
        next = tdc_source_next(c->src, &row, err);
        if (next < 0) {
            td_log_error("source: %s; retrying", err->msg);
            r = tdc_commit(c, err);
            if (r < 0)
                return r;
            tdc_wait(c, TDC_RETRY_WAIT_MS);
            continue;
        }
        if (next == TDC_NEXT_IDLE) {
            r = tdc_commit(c, err);
            if (r < 0)
                return r;
            if (r == 0)
                tdc_table_rejections(c, false);
            tdc_wait(c, TDC_IDLE_WAIT_MS);
            continue;
        }
        r = tdc_begin(c, err);
        if (r < 0) {
            if ((r = tdc_recover(c, r, err)) < 0)
                return r;
            continue;
        }
        if (next == TDC_NEXT_ROW) {
            tdc_unit_begin(c, &row);
            c->stats.rows++;
            c->unit.rows++;
            c->txn_rows++;
            r = tdc_dataset_map(c->ds, &row, &c->last, &sink, err);
            if (r < 0) {
                r = td_error_prefix(err, r, "%s row %" PRId64 ": %s%s", row.unit, row.row,
                                    c->sink_err.msg, c->sink_err.msg[0] ? ": " : "");
                if ((r = tdc_recover(c, r, err)) < 0)
                    return r;
                continue;
            }
            c->last = row.after;
            tdc_progress(c);
            continue;
        }
        /* TDC_NEXT_END_UNIT: flush what the dataset holds, commit the
         * FINISHED position, then the source moves the file away. */
        r = tdc_dataset_end_unit(c->ds, &sink, err);
        if (r < 0) {
            r = td_error_prefix(err, r, "end of %s: %s%s", c->unit.name, c->sink_err.msg,
                                c->sink_err.msg[0] ? ": " : "");
            if ((r = tdc_recover(c, r, err)) < 0)
                return r;
            continue;
        }
        tdc_source_unit_counts(c->src, c->unit.rows > 0 ? c->unit.first_row : 0,
                               c->unit.published, c->unit.rejected);
        r = tdc_commit(c, err);
        if (r < 0)
            return r;
        if (r == 0)
            tdc_unit_end(c);
    }
    return 0;
}

int tdc_connector_run(tdc_connector *c, td_error *err)
{
    int r;

    r = td_http_start(&c->cfg.http, tdc_metrics_registry(c->metrics), &c->http, err);
    if (r < 0)
        return r;
    tdc_beat(c);
    r = tdc_loop(c, err);
    if (r == 0 && c->started) {
        /* Committed if Kafka answers before the stop deadline (td_signal.h);
         * else the transaction stays open and is redone at the next start. */
        td_notify_stopping("committing the open transaction");
        r = tdc_commit(c, err);
        if (r == 0)
            tdc_table_rejections(c, true);
    }
    if (r < 0 && tdc_stopping(c)) {
        /* What failed because of the stop (a commit past the stop deadline,
         * a call cut short) ends the run like a stop: nothing uncommitted
         * is lost, the next start redoes it from the committed position. */
        td_log_warning("%s: stopping without committing the open transaction (%s): its rows "
                       "are read again at the next start", c->cfg.instance, err->msg);
        r = 0;
    }
    if (!c->started || r < 0)
        return r;
    if (isatty(STDERR_FILENO))
        fputc('\n', stderr);
    td_log_notice("%s: stopped: %" PRId64 " rows, %" PRId64 " published, %" PRId64
                  " rejected, %" PRId64 " transactions", c->cfg.instance, c->stats.rows,
                  c->stats.published, c->stats.rejected, c->stats.transactions);
    return 0;
}
