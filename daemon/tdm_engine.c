/* tdm_engine: see tdm_engine.h and docs/matchd-design.md. */
#include "tdm_engine.h"

#include "td_avro.h"
#include "td_kafka.h"
#include "td_log.h"
#include "td_notify.h"
#include "td_signal.h"
#include "td_time.h"
#include "tdm_eval.h"
#include "tdm_roster.h"
#include "tdm_rules.h"
#include "tdm_store.h"
#include "tdm_window.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TDM_STARTUP_TIMEOUT_MS 30000
#define TDM_RETRY_WAIT_MS 1000
#define TDM_ROSTER_BATCH 500
#define TDM_KEY_MAX 600

enum { TDM_IN_MEDICAL, TDM_IN_CIVIL, TDM_IN_HR, TDM_IN_VERIFY, TDM_IN_COUNT };

static const char *const tdm_in_schema[TDM_IN_COUNT] = {
    "cn.tuodi.MedicalSettlement", "cn.tuodi.CivilAffairsEvent", "cn.tuodi.EmploymentEvent",
    "cn.tuodi.VerificationOutcome",
};
static const tdm_dataset tdm_in_dataset[TDM_IN_COUNT] = {
    TDM_DATASET_MEDICAL_INSURANCE, TDM_DATASET_CIVIL_AFFAIRS, TDM_DATASET_HUMAN_RESOURCES,
    TDM_DATASET_ANY,
};

/* An assigned partition of the group consumer. */
typedef struct tdm_part {
    char *topic;
    int32_t partition;
    int64_t base;        /* where the open batch started (rewind target), -1: beginning */
    int64_t next;        /* next offset to process, -1: not known yet */
    int64_t restore_end; /* records below are re-processed without producing; -1: none */
} tdm_part;

/* A state changed in the open batch. */
typedef struct tdm_dirty {
    char *key;
    tdm_window *w;
} tdm_dirty;

/* An alert raised in the open batch: alert id -> state key. */
typedef struct tdm_idx {
    char *alert_id;
    char *key;
} tdm_idx;

struct tdm_engine {
    const tdm_config *cfg;
    tdm_store *store;
    td_avro_registry *reg;
    tdm_roster *roster;
    tdm_rules *rules;
    tdm_db db_state, db_alerts;
    td_avro_decoder *dec[TDM_IN_COUNT];
    td_avro_decoder *hh_dec;
    const td_avro_schema *alert_schema;
    avro_value_t alert_value;
    bool has_alert_value;
    td_avro_buf buf;
    tdm_alert_list alerts;
    tdm_eval_ctx ctx;
    char instance[160];
    char txn_id[160];
    char roster_group[160];

    rd_kafka_t *producer, *consumer, *rconsumer;
    tdm_part *parts;
    size_t nparts;
    bool restoring;
    bool restore_started; /* restoring was true since the assignment */
    tdm_dirty *dirty;
    size_t ndirty, dirty_cap;
    tdm_idx *idx;
    size_t nidx, idx_cap;
    char **topics;
    size_t ntopics;

    bool txn_open;
    int64_t batch_records;
    int64_t batch_started_ms;
    td_error cb_err;   /* an error inside the rebalance callback */
    int cb_rc;

    uint64_t n_records, n_alerts, n_rejected, n_skipped;
};

/* ------------------------------------------------------------ helpers */

static void tdm_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static bool tdm_stopping(void)
{
    return td_signal_stop_requested();
}

static void tdm_wait(int ms)
{
    int64_t end = td_time_mono_ms() + ms;
    while (!tdm_stopping() && td_time_mono_ms() < end) {
        td_notify_watchdog();
        tdm_sleep_ms(50);
    }
}

static int tdm_get_string(const avro_value_t *rec, const char *name, const char **ret)
{
    avro_value_t f;
    size_t size;

    if (avro_value_get_by_name(rec, name, &f, NULL) != 0 || avro_value_get_type(&f) != AVRO_STRING ||
        avro_value_get_string(&f, ret, &size) != 0)
        return -EINVAL;
    return 0;
}

static tdm_part *tdm_part_find(tdm_engine *e, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < e->nparts; i++)
        if (e->parts[i].partition == partition && strcmp(e->parts[i].topic, topic) == 0)
            return &e->parts[i];
    return NULL;
}

static void tdm_parts_clear(tdm_engine *e)
{
    for (size_t i = 0; i < e->nparts; i++)
        free(e->parts[i].topic);
    free(e->parts);
    e->parts = NULL;
    e->nparts = 0;
    e->restoring = false;
    e->restore_started = false;
}

static void tdm_batch_drop(tdm_engine *e)
{
    for (size_t i = 0; i < e->ndirty; i++) {
        free(e->dirty[i].key);
        tdm_window_free(e->dirty[i].w);
    }
    e->ndirty = 0;
    for (size_t i = 0; i < e->nidx; i++) {
        free(e->idx[i].alert_id);
        free(e->idx[i].key);
    }
    e->nidx = 0;
    e->batch_records = 0;
}

/* --------------------------------------------------------------- state */

/* The state of key for the open batch: from the batch, else LMDB, else new. */
static int tdm_state(tdm_engine *e, const char *key, tdm_dirty **ret, td_error *err)
{
    tdm_txn *txn = NULL;
    const void *val;
    size_t len;
    tdm_window *w = NULL;
    int r;

    for (size_t i = 0; i < e->ndirty; i++)
        if (strcmp(e->dirty[i].key, key) == 0) {
            *ret = &e->dirty[i];
            return 0;
        }
    if (e->ndirty == e->dirty_cap) {
        size_t cap = e->dirty_cap ? e->dirty_cap * 2 : 64;
        tdm_dirty *v = realloc(e->dirty, cap * sizeof(*v));
        if (!v)
            return td_error_set(err, -ENOMEM, "out of memory");
        e->dirty = v;
        e->dirty_cap = cap;
    }
    r = tdm_store_begin_read(e->store, &txn, err);
    if (r < 0)
        return r;
    r = tdm_store_get(txn, e->db_state, key, strlen(key), &val, &len, err);
    if (r == 0)
        r = tdm_window_decode(val, len, &w, err);
    else if (r == -ENOENT) {
        w = tdm_window_new();
        r = w ? 0 : td_error_set(err, -ENOMEM, "out of memory");
    }
    tdm_store_abort(txn);
    if (r < 0)
        return r;
    e->dirty[e->ndirty].key = strdup(key);
    if (!e->dirty[e->ndirty].key) {
        tdm_window_free(w);
        return td_error_set(err, -ENOMEM, "out of memory");
    }
    e->dirty[e->ndirty].w = w;
    *ret = &e->dirty[e->ndirty++];
    return 0;
}

static int tdm_idx_add(tdm_engine *e, const char *alert_id, const char *key, td_error *err)
{
    if (e->nidx == e->idx_cap) {
        size_t cap = e->idx_cap ? e->idx_cap * 2 : 64;
        tdm_idx *v = realloc(e->idx, cap * sizeof(*v));
        if (!v)
            return td_error_set(err, -ENOMEM, "out of memory");
        e->idx = v;
        e->idx_cap = cap;
    }
    e->idx[e->nidx].alert_id = strdup(alert_id);
    e->idx[e->nidx].key = strdup(key);
    if (!e->idx[e->nidx].alert_id || !e->idx[e->nidx].key) {
        free(e->idx[e->nidx].alert_id);
        free(e->idx[e->nidx].key);
        return td_error_set(err, -ENOMEM, "out of memory");
    }
    e->nidx++;
    return 0;
}

/* The state key holding alert_id (batch first, then LMDB), into buf. */
static int tdm_idx_find(tdm_engine *e, const char *alert_id, char *buf, size_t size,
                        td_error *err)
{
    tdm_txn *txn = NULL;
    const void *val;
    size_t len;
    int r;

    for (size_t i = e->nidx; i-- > 0;)
        if (strcmp(e->idx[i].alert_id, alert_id) == 0) {
            snprintf(buf, size, "%s", e->idx[i].key);
            return 0;
        }
    if (!*alert_id || strlen(alert_id) > TDM_ALERT_ID_MAX)
        return -ENOENT;
    r = tdm_store_begin_read(e->store, &txn, err);
    if (r < 0)
        return r;
    r = tdm_store_get(txn, e->db_alerts, alert_id, strlen(alert_id), &val, &len, err);
    if (r == 0) {
        if (len >= size)
            r = td_error_set(err, -ERANGE, "state key too long");
        else {
            memcpy(buf, val, len);
            buf[len] = '\0';
        }
    }
    tdm_store_abort(txn);
    return r;
}

/* Writes the batch's states, alert index and offsets in one LMDB
 * transaction (after the Kafka commit), then forgets the batch. */
static int tdm_store_batch(tdm_engine *e, td_error *err)
{
    tdm_txn *txn = NULL;
    int r;

    r = tdm_store_begin(e->store, &txn, err);
    if (r < 0)
        return r;
    for (size_t i = 0; i < e->ndirty && r == 0; i++) {
        const char *k = e->dirty[i].key;
        if (tdm_window_is_empty(e->dirty[i].w)) {
            r = tdm_store_del(txn, e->db_state, k, strlen(k), err);
            if (r == -ENOENT)
                r = 0;
            continue;
        }
        size_t n = tdm_window_encoded_size(e->dirty[i].w);
        r = td_avro_buf_reserve(&e->buf, n);
        if (r < 0) {
            r = td_error_set(err, -ENOMEM, "out of memory");
            break;
        }
        r = tdm_window_encode(e->dirty[i].w, e->buf.data, n);
        if (r < 0) {
            r = td_error_set(err, r, "encoding a state: %s", strerror(-r));
            break;
        }
        r = tdm_store_put(txn, e->db_state, k, strlen(k), e->buf.data, n, err);
    }
    for (size_t i = 0; i < e->nidx && r == 0; i++)
        r = tdm_store_put(txn, e->db_alerts, e->idx[i].alert_id, strlen(e->idx[i].alert_id),
                          e->idx[i].key, strlen(e->idx[i].key), err);
    for (size_t i = 0; i < e->nparts && r == 0; i++)
        if (e->parts[i].next >= 0)
            r = tdm_store_offset_set(txn, e->parts[i].topic, e->parts[i].partition,
                                     e->parts[i].next, err);
    if (r < 0) {
        tdm_store_abort(txn);
        return r;
    }
    r = tdm_store_commit(txn, err);
    if (r < 0)
        return r;
    for (size_t i = 0; i < e->nparts; i++)
        if (e->parts[i].next >= 0)
            e->parts[i].base = e->parts[i].next;
    tdm_batch_drop(e);
    return 0;
}

/* ------------------------------------------------------------- producing */

static int tdm_topic_ensure(tdm_engine *e, const char *topic, td_error *err)
{
    td_kafka_topic_spec spec;
    char **v;
    int r;

    for (size_t i = 0; i < e->ntopics; i++)
        if (strcmp(e->topics[i], topic) == 0)
            return 0;
    memset(&spec, 0, sizeof(spec));
    spec.name = topic;
    spec.partitions = (int)e->cfg->topics.alert_partitions;
    spec.replication_factor = (int)e->cfg->topics.replication_factor;
    r = td_kafka_topics_ensure(e->producer, &spec, 1, TDM_STARTUP_TIMEOUT_MS, err);
    if (r < 0 && r != -EEXIST) /* -EEXIST: it exists with other partitions: fine */
        return r;
    v = realloc(e->topics, (e->ntopics + 1) * sizeof(*v));
    if (!v)
        return td_error_set(err, -ENOMEM, "out of memory");
    e->topics = v;
    e->topics[e->ntopics] = strdup(topic);
    if (!e->topics[e->ntopics])
        return td_error_set(err, -ENOMEM, "out of memory");
    e->ntopics++;
    return 0;
}

static int tdm_begin(tdm_engine *e, td_error *err)
{
    int r;

    if (e->txn_open)
        return 0;
    r = td_kafka_txn_begin(e->producer, err);
    if (r == 0)
        e->txn_open = true;
    return r;
}

static int tdm_produce(tdm_engine *e, const char *topic, const void *key, size_t key_len,
                       const void *value, size_t len, rd_kafka_headers_t *hdrs, td_error *err)
{
    int r = tdm_topic_ensure(e, topic, err);
    if (r == 0)
        r = tdm_begin(e, err);
    if (r < 0) {
        if (hdrs)
            rd_kafka_headers_destroy(hdrs);
        return r;
    }
    for (;;) {
        /* rd_kafka_produceva, not producev: its macros are GNU statement
         * expressions, which -Wpedantic refuses under clang. */
        rd_kafka_vu_t vu[5];
        size_t n = 0;
        rd_kafka_error_t *xe;
        rd_kafka_resp_err_t x;
        vu[n].vtype = RD_KAFKA_VTYPE_TOPIC;
        vu[n++].u.cstr = topic;
        vu[n].vtype = RD_KAFKA_VTYPE_KEY;
        vu[n].u.mem.ptr = (void *)key;
        vu[n++].u.mem.size = key_len;
        vu[n].vtype = RD_KAFKA_VTYPE_VALUE;
        vu[n].u.mem.ptr = (void *)value;
        vu[n++].u.mem.size = len;
        vu[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
        vu[n++].u.i = RD_KAFKA_MSG_F_COPY;
        if (hdrs) {
            vu[n].vtype = RD_KAFKA_VTYPE_HEADERS;
            vu[n++].u.headers = hdrs;
        }
        xe = rd_kafka_produceva(e->producer, vu, n);
        x = xe ? rd_kafka_error_code(xe) : RD_KAFKA_RESP_ERR_NO_ERROR;
        if (xe)
            rd_kafka_error_destroy(xe);
        if (x == RD_KAFKA_RESP_ERR_NO_ERROR)
            return 0;
        if (x == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(e->producer, 100);
            continue;
        }
        if (hdrs)
            rd_kafka_headers_destroy(hdrs);
        return td_error_set(err, -ECANCELED, "producing to %s: %s", topic, rd_kafka_err2str(x));
    }
}

/* Records the alerts of one input in the batch and, unless restoring,
 * produces them. */
static int tdm_emit(tdm_engine *e, const char *state_key, bool restore, td_error *err)
{
    char topic[512];
    int r;

    for (size_t i = 0; i < e->alerts.n; i++) {
        const tdm_alert_out *a = &e->alerts.v[i];
        if (a->kind == TDM_KIND_ALERT) {
            r = tdm_idx_add(e, a->alert_id, state_key, err);
            if (r < 0)
                return r;
        }
        if (restore)
            continue;
        snprintf(topic, sizeof(topic), "%s%s", e->cfg->topics.alerts_prefix,
                 a->route.topic + strlen(TDM_ALERT_TOPIC_PREFIX));
        avro_value_reset(&e->alert_value);
        r = tdm_alert_out_to_avro(a, e->instance, &e->alert_value, err);
        if (r == 0)
            r = td_avro_encode(e->alert_schema, &e->alert_value, &e->buf, err);
        if (r < 0)
            return td_error_set(err, r, "alert %s: %s", a->alert_id, err->msg);
        r = tdm_produce(e, topic, a->route.key, strlen(a->route.key), e->buf.data, e->buf.len,
                        NULL, err);
        if (r < 0)
            return r;
        e->n_alerts++;
        td_log_info("alert %s (%s, rule %s) to %s", a->alert_id,
                    a->kind == TDM_KIND_ALERT ? "ALERT" : a->kind == TDM_KIND_CLOSED ? "CLOSED"
                                                                                    : "OVERDUE",
                    a->rule_id, topic);
    }
    return 0;
}

static int tdm_dlq(tdm_engine *e, const rd_kafka_message_t *m, const char *reason, td_error *err)
{
    rd_kafka_headers_t *h = rd_kafka_headers_new(6);
    char num[32], masked[1024];

    snprintf(masked, sizeof(masked), "%s", reason);
    td_log_redact(masked);
    rd_kafka_header_add(h, "tuodi.reason", -1, masked, -1);
    rd_kafka_header_add(h, "tuodi.stage", -1, "verify", -1);
    rd_kafka_header_add(h, "tuodi.topic", -1, rd_kafka_topic_name(m->rkt), -1);
    snprintf(num, sizeof(num), "%" PRId32, m->partition);
    rd_kafka_header_add(h, "tuodi.partition", -1, num, -1);
    snprintf(num, sizeof(num), "%" PRId64, m->offset);
    rd_kafka_header_add(h, "tuodi.offset", -1, num, -1);
    e->n_rejected++;
    return tdm_produce(e, e->cfg->topics.dlq_verifications, m->key, m->key_len, m->payload,
                       m->len, h, err);
}

/* ------------------------------------------------------------ processing */

/* The subject of person_key: household view (when on the roster) and state
 * key. */
static int tdm_find_subject(tdm_engine *e, const char *person_key, tdm_household *view,
                       bool *on_roster, char *key, size_t size, td_error *err)
{
    tdm_txn *txn = NULL;
    char hid[TDM_KEY_MAX];
    int r;

    *on_roster = false;
    r = tdm_store_begin_read(e->store, &txn, err);
    if (r < 0)
        return r;
    r = tdm_roster_household_of(e->roster, txn, person_key, hid, sizeof(hid), err);
    if (r == 0) {
        r = tdm_roster_get(e->roster, txn, hid, view, err);
        if (r == 0) {
            *on_roster = true;
            snprintf(key, size, "%s", hid);
        }
    }
    tdm_store_abort(txn);
    if (r == -ENOENT || r == -ERANGE || r == -EINVAL) {
        snprintf(key, size, "person:%s", person_key);
        return strlen(key) >= size - 1 ? td_error_set(err, -EINVAL, "person key too long") : 0;
    }
    return r;
}

static int tdm_process_record(tdm_engine *e, int in, const rd_kafka_message_t *m, bool restore,
                              td_error *err)
{
    avro_value_t *value = NULL;
    tdm_household view = TDM_HOUSEHOLD_INIT;
    bool on_roster = false;
    char key[TDM_KEY_MAX];
    const char *person_key = NULL;
    tdm_dirty *st = NULL;
    tdm_window *backup = NULL;
    tdm_coords coords = {rd_kafka_topic_name(m->rkt), m->partition, m->offset};
    td_error e2 = {0};
    int r;

    r = td_avro_decode(e->dec[in], m->payload, m->len, &value, &e2);
    if (r == 0)
        r = tdm_get_string(value, "person_key", &person_key);
    if (r < 0 || !person_key || !*person_key || strlen(person_key) > 400) {
        td_log_warning("%s [%" PRId32 "] @%" PRId64 ": skipped, not a readable record: %s",
                       coords.topic, m->partition, m->offset, e2.msg);
        e->n_skipped++;
        return 0;
    }
    r = tdm_find_subject(e, person_key, &view, &on_roster, key, sizeof(key), err);
    if (r == 0)
        r = tdm_state(e, key, &st, err);
    if (r < 0)
        goto out;
    backup = tdm_window_copy(st->w);
    if (!backup) {
        r = td_error_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    tdm_alert_list_reset(&e->alerts);
    r = tdm_eval_record(&e->ctx, tdm_in_dataset[in], value, &coords, on_roster ? &view : NULL,
                        st->w, &e->alerts, &e2);
    if (r < 0) {
        tdm_window_free(st->w);
        st->w = backup;
        backup = NULL;
        td_log_warning("%s [%" PRId32 "] @%" PRId64 ": not evaluated: %s", coords.topic,
                       m->partition, m->offset, e2.msg);
        e->n_skipped++;
        r = 0;
        goto out;
    }
    r = tdm_emit(e, key, restore, err);
out:
    tdm_window_free(backup);
    tdm_household_done(&view);
    return r;
}

static int tdm_process_outcome(tdm_engine *e, const rd_kafka_message_t *m, bool restore,
                               td_error *err)
{
    avro_value_t *value = NULL;
    tdm_household view = TDM_HOUSEHOLD_INIT;
    const char *alert_id = NULL;
    char key[TDM_KEY_MAX];
    bool on_roster = false;
    tdm_dirty *st = NULL;
    tdm_window *backup = NULL;
    td_error e2 = {0};
    int r;

    r = td_avro_decode(e->dec[TDM_IN_VERIFY], m->payload, m->len, &value, &e2);
    if (r == 0 && tdm_get_string(value, "alert_id", &alert_id) < 0)
        r = td_error_set(&e2, -EINVAL, "no alert_id");
    if (r < 0)
        return restore ? 0 : tdm_dlq(e, m, e2.msg, err);
    r = tdm_idx_find(e, alert_id, key, sizeof(key), err);
    if (r == -ENOENT)
        return restore ? 0 : tdm_dlq(e, m, "unknown alert", err);
    if (r < 0)
        return r;
    if (strncmp(key, "person:", 7) != 0) {
        tdm_txn *txn = NULL;
        r = tdm_store_begin_read(e->store, &txn, err);
        if (r < 0)
            return r;
        r = tdm_roster_get(e->roster, txn, key, &view, &e2);
        tdm_store_abort(txn);
        on_roster = r == 0;
    }
    r = tdm_state(e, key, &st, err);
    if (r < 0)
        goto out;
    backup = tdm_window_copy(st->w);
    if (!backup) {
        r = td_error_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    tdm_alert_list_reset(&e->alerts);
    memset(&e2, 0, sizeof(e2));
    r = tdm_eval_outcome(&e->ctx, value, on_roster ? &view : NULL,
                         on_roster ? NULL : (strncmp(key, "person:", 7) == 0 ? key + 7 : key),
                         st->w, &e->alerts, &e2);
    if (r < 0) {
        tdm_window_free(st->w);
        st->w = backup;
        backup = NULL;
        r = restore ? 0 : tdm_dlq(e, m, e2.msg[0] ? e2.msg : strerror(-r), err);
        goto out;
    }
    r = tdm_emit(e, key, restore, err);
out:
    tdm_window_free(backup);
    tdm_household_done(&view);
    return r;
}

static int tdm_input_of(tdm_engine *e, const char *topic)
{
    const tdm_topics_config *t = &e->cfg->topics;
    if (strcmp(topic, t->medical) == 0)
        return TDM_IN_MEDICAL;
    if (strcmp(topic, t->civil) == 0)
        return TDM_IN_CIVIL;
    if (strcmp(topic, t->hr) == 0)
        return TDM_IN_HR;
    if (strcmp(topic, t->verifications) == 0)
        return TDM_IN_VERIFY;
    return -1;
}

static void tdm_restore_check(tdm_engine *e)
{
    bool any = false;
    for (size_t i = 0; i < e->nparts; i++) {
        tdm_part *p = &e->parts[i];
        if (p->restore_end >= 0 && p->next >= p->restore_end)
            p->restore_end = -1;
        any = any || p->restore_end >= 0;
    }
    e->restoring = any;
    if (any)
        e->restore_started = true;
}

static int tdm_process(tdm_engine *e, const rd_kafka_message_t *m, td_error *err)
{
    const char *topic = rd_kafka_topic_name(m->rkt);
    tdm_part *p = tdm_part_find(e, topic, m->partition);
    bool restore;
    int in, r;

    if (!p)
        return 0;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        /* Everything up to the end is processed (and the committed offset
         * can be past transaction markers the consumer never delivers),
         * unless this partition's records were dropped while others
         * restore. */
        if (e->restoring && p->restore_end < 0)
            return 0;
        if (m->offset > p->next)
            p->next = m->offset;
        if (p->restore_end >= 0)
            p->restore_end = -1;
        tdm_restore_check(e);
        return 0;
    }
    restore = p->restore_end >= 0 && m->offset < p->restore_end;
    td_log_debug("%s [%" PRId32 "] @%" PRId64 "%s%s", topic, m->partition, m->offset,
                 restore ? " (restore)" : "", e->restoring && !restore ? " (waits)" : "");
    if (e->restoring && !restore) {
        /* This partition has caught up (a record at or past the committed
         * offset) or was never behind; it waits until every partition has,
         * and is then re-read from p->next. */
        if (p->restore_end >= 0) {
            p->restore_end = -1;
            tdm_restore_check(e);
        }
        return 0;
    }
    in = tdm_input_of(e, topic);
    if (in < 0)
        r = 0;
    else if (in == TDM_IN_VERIFY)
        r = tdm_process_outcome(e, m, restore, err);
    else
        r = tdm_process_record(e, in, m, restore, err);
    if (r < 0)
        return r;
    if (e->batch_records++ == 0)
        e->batch_started_ms = td_time_mono_ms();
    e->n_records++;
    p->next = m->offset + 1;
    if (e->restoring)
        tdm_restore_check(e);
    return 0;
}

/* ------------------------------------------------------ assignment, commit */

static int tdm_assign_all(tdm_engine *e, bool from_base)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)e->nparts + 1);
    rd_kafka_resp_err_t x;

    for (size_t i = 0; i < e->nparts; i++) {
        tdm_part *p = &e->parts[i];
        int64_t off = from_base ? p->base : p->next;
        rd_kafka_topic_partition_list_add(l, p->topic, p->partition)->offset =
            off >= 0 ? off : RD_KAFKA_OFFSET_BEGINNING;
        if (from_base)
            p->next = p->base;
    }
    x = rd_kafka_assign(e->consumer, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (x) {
        td_error_set(&e->cb_err, -EIO, "assign: %s", rd_kafka_err2str(x));
        return -EIO;
    }
    return 0;
}

static void tdm_on_assign(tdm_engine *e, rd_kafka_topic_partition_list_t *parts)
{
    tdm_txn *txn = NULL;
    rd_kafka_resp_err_t x;
    td_error err = {0};

    tdm_parts_clear(e);
    tdm_batch_drop(e);
    x = rd_kafka_committed(e->consumer, parts, TDM_STARTUP_TIMEOUT_MS);
    if (x) {
        e->cb_rc = td_error_set(&e->cb_err, -EIO, "reading committed offsets: %s",
                                rd_kafka_err2str(x));
        return;
    }
    e->parts = calloc((size_t)parts->cnt + 1, sizeof(*e->parts));
    if (!e->parts || tdm_store_begin_read(e->store, &txn, &err) < 0) {
        e->cb_rc = td_error_set(&e->cb_err, -EIO, "assign: %s", err.msg[0] ? err.msg : "no memory");
        return;
    }
    for (int i = 0; i < parts->cnt; i++) {
        rd_kafka_topic_partition_t *tp = &parts->elems[i];
        tdm_part *p = &e->parts[e->nparts++];
        int64_t c = tp->offset >= 0 ? tp->offset : -1, l = -1;
        if (tdm_store_offset_get(txn, tp->topic, tp->partition, &l, &err) < 0)
            l = -1;
        p->topic = strdup(tp->topic);
        p->partition = tp->partition;
        p->restore_end = -1;
        if (c < 0)
            p->base = l;
        else if (l < c) {
            p->base = l;
            p->restore_end = c;
            td_log_notice("%s [%" PRId32 "]: state at %" PRId64 ", committed %" PRId64
                          ": restoring", tp->topic, tp->partition, l, c);
        } else
            p->base = c;
        p->next = p->base;
    }
    tdm_store_abort(txn);
    tdm_restore_check(e);
    if (tdm_assign_all(e, true) < 0)
        e->cb_rc = -EIO;
}

static void tdm_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t x,
                             rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    tdm_engine *e = opaque;
    td_error err = {0};

    if (x == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        tdm_on_assign(e, parts);
        return;
    }
    /* Revoked: the open batch ends uncommitted; its records come again. */
    if (e->txn_open) {
        if (td_kafka_txn_abort(e->producer, (int)e->cfg->transaction.timeout_ms, &err) < 0) {
            e->cb_rc = td_error_set(&e->cb_err, -ENOTRECOVERABLE, "%s", err.msg);
        }
        e->txn_open = false;
    }
    tdm_batch_drop(e);
    tdm_parts_clear(e);
    rd_kafka_assign(rk, NULL);
}

/* Aborts the open transaction and goes back to the last commit. */
static int tdm_rewind(tdm_engine *e, td_error *err)
{
    int r = 0;

    if (e->txn_open)
        r = td_kafka_txn_abort(e->producer, (int)e->cfg->transaction.timeout_ms, err);
    e->txn_open = false;
    if (r < 0)
        return r;
    tdm_batch_drop(e);
    tdm_restore_check(e);
    if (tdm_assign_all(e, true) < 0)
        return td_error_set(err, -EIO, "%s", e->cb_err.msg);
    td_log_warning("transaction aborted; re-reading from the last commit");
    return 0;
}

static int tdm_commit(tdm_engine *e, td_error *err)
{
    int r;

    if (e->restoring || (!e->txn_open && e->batch_records == 0)) {
        if (e->batch_records == 0 && e->ndirty == 0)
            return 0;
        /* Restore: nothing to commit to Kafka, LMDB catches up. */
        return tdm_store_batch(e, err);
    }
    for (;;) {
        r = tdm_begin(e, err);
        if (r == 0)
            r = td_kafka_txn_send_offsets(e->producer, e->consumer,
                                          (int)e->cfg->transaction.timeout_ms, NULL, err);
        if (r == 0)
            r = td_kafka_txn_commit(e->producer, (int)e->cfg->transaction.timeout_ms, err);
        if (r == 0) {
            e->txn_open = false;
            break;
        }
        if (r == -ECANCELED)
            return tdm_rewind(e, err);
        if (r != -ETIMEDOUT)
            return r;
        td_log_warning("commit: %s; retrying", err->msg);
        if (tdm_stopping()) /* still commit: a stop must not lose the batch */
            tdm_sleep_ms(TDM_RETRY_WAIT_MS);
    }
    /* After the Kafka commit: the state and the offsets it reflects. A crash
     * before this line leaves LMDB behind; the next start restores. */
    r = tdm_store_batch(e, err);
    if (r < 0)
        return td_error_set(err, r, "writing the state after the Kafka commit: %s", err->msg);
    return 0;
}

/* --------------------------------------------------------------- roster */

static int tdm_roster_poll(tdm_engine *e, int timeout_ms, bool *eof, int32_t npart, td_error *err)
{
    tdm_txn *txn = NULL;
    int r = 0, n = 0;

    while (n < TDM_ROSTER_BATCH) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(e->rconsumer, n ? 0 : timeout_ms);
        if (!m)
            break;
        if (m->err) {
            if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                if (eof && m->partition >= 0 && m->partition < npart)
                    eof[m->partition] = true;
            } else
                td_log_warning("roster: %s", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        n++;
        if (!txn && (r = tdm_store_begin(e->store, &txn, err)) < 0) {
            rd_kafka_message_destroy(m);
            return r;
        }
        if (m->payload) {
            avro_value_t *v;
            td_error e2 = {0};
            if (td_avro_decode(e->hh_dec, m->payload, m->len, &v, &e2) < 0) {
                td_log_warning("roster [%" PRId32 "] @%" PRId64 ": skipped: %s", m->partition,
                               m->offset, e2.msg);
                goto offset;
            }
        }
        r = tdm_roster_apply(e->roster, txn, m->key, m->key_len, m->payload, m->len, err);
        if (r == -EINVAL || r == -EBADMSG) {
            /* A bad record that apply refused before writing. */
            td_log_warning("roster [%" PRId32 "] @%" PRId64 ": skipped: %s", m->partition,
                           m->offset, err->msg);
            r = 0;
        }
    offset:
        if (r == 0)
            r = tdm_store_offset_set(txn, rd_kafka_topic_name(m->rkt), m->partition,
                                     m->offset + 1, err);
        rd_kafka_message_destroy(m);
        if (r < 0) {
            tdm_store_abort(txn);
            return r;
        }
    }
    return txn ? tdm_store_commit(txn, err) : 0;
}

/* Assigns the roster consumer to every roster partition from LMDB's offsets
 * and applies the topic to its end. */
static int tdm_roster_start(tdm_engine *e, td_error *err)
{
    const char *topic = e->cfg->topics.roster;
    rd_kafka_conf_t *conf = NULL;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt;
    rd_kafka_topic_partition_list_t *l;
    tdm_txn *txn = NULL;
    bool *eof = NULL;
    int32_t npart = 0;
    char errstr[256];
    int r;

    r = td_kafka_consumer_conf_new(NULL, e->roster_group, &e->cfg->kafka, &conf, err);
    if (r < 0)
        return r;
    if (rd_kafka_conf_set(conf, "enable.partition.eof", "true", errstr, sizeof(errstr)) !=
        RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        return td_error_set(err, -EINVAL, "%s", errstr);
    }
    r = td_kafka_new(RD_KAFKA_CONSUMER, conf, &e->rconsumer, err);
    if (r < 0)
        return r;
    rkt = rd_kafka_topic_new(e->rconsumer, topic, NULL);
    for (;;) {
        rd_kafka_resp_err_t x = rd_kafka_metadata(e->rconsumer, 0, rkt, &md, 5000);
        if (x == 0 && md->topic_cnt == 1 && md->topics[0].err == 0 &&
            md->topics[0].partition_cnt > 0)
            break;
        if (x == 0)
            rd_kafka_metadata_destroy(md);
        md = NULL;
        if (tdm_stopping()) {
            rd_kafka_topic_destroy(rkt);
            return 0;
        }
        td_log_warning("roster topic %s not available yet; retrying", topic);
        tdm_wait(TDM_RETRY_WAIT_MS);
    }
    rd_kafka_topic_destroy(rkt);
    npart = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
    eof = calloc((size_t)npart, sizeof(*eof));
    l = rd_kafka_topic_partition_list_new(npart);
    r = eof && l ? tdm_store_begin_read(e->store, &txn, err) : td_error_set(err, -ENOMEM, "out of memory");
    if (r == 0) {
        for (int32_t p = 0; p < npart; p++) {
            int64_t off;
            if (tdm_store_offset_get(txn, topic, p, &off, err) < 0)
                off = RD_KAFKA_OFFSET_BEGINNING;
            rd_kafka_topic_partition_list_add(l, topic, p)->offset = off;
        }
        tdm_store_abort(txn);
        if (rd_kafka_assign(e->rconsumer, l) != 0)
            r = td_error_set(err, -EIO, "cannot assign the roster partitions");
    }
    if (l)
        rd_kafka_topic_partition_list_destroy(l);
    while (r == 0 && !tdm_stopping()) {
        bool all = true;
        for (int32_t p = 0; p < npart; p++)
            all = all && eof[p];
        if (all)
            break;
        td_notify_watchdog();
        r = tdm_roster_poll(e, 200, eof, npart, err);
    }
    free(eof);
    if (r == 0) {
        size_t nh = 0, np = 0;
        if (tdm_store_begin_read(e->store, &txn, err) == 0) {
            tdm_roster_count(e->roster, txn, &nh, &np, err);
            tdm_store_abort(txn);
        }
        td_log_info("roster %s read: %zu households, %zu persons", topic, nh, np);
    }
    return r;
}

/* ----------------------------------------------------------------- run */

static int tdm_start_producer(tdm_engine *e, td_error *err)
{
    rd_kafka_conf_t *conf = NULL;
    int r;

    r = td_kafka_producer_conf_new(NULL, e->txn_id, &e->cfg->kafka, &conf, err);
    if (r == 0)
        r = td_kafka_new(RD_KAFKA_PRODUCER, conf, &e->producer, err);
    if (r < 0)
        return r;
    for (;;) {
        td_error e2 = {0};
        r = td_kafka_txn_init(e->producer, (int)e->cfg->transaction.timeout_ms, &e2);
        if (r == 0)
            break;
        if (r != -ETIMEDOUT || tdm_stopping())
            return td_error_set(err, r, "%s", e2.msg);
        td_log_warning("Kafka not reachable yet (%s); retrying", e2.msg);
        tdm_wait(TDM_RETRY_WAIT_MS);
    }
    return 0;
}

static int tdm_start_consumer(tdm_engine *e, td_error *err)
{
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_topic_partition_list_t *l;
    const tdm_topics_config *t = &e->cfg->topics;
    const char *topics[] = {t->medical, t->civil, t->hr, t->verifications};
    char errstr[256];
    rd_kafka_resp_err_t x;
    int r;

    r = td_kafka_consumer_conf_new(NULL, e->cfg->group_id, &e->cfg->kafka, &conf, err);
    if (r < 0)
        return r;
    if (rd_kafka_conf_set(conf, "enable.partition.eof", "true", errstr, sizeof(errstr)) !=
        RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        return td_error_set(err, -EINVAL, "%s", errstr);
    }
    rd_kafka_conf_set_rebalance_cb(conf, tdm_rebalance_cb);
    rd_kafka_conf_set_opaque(conf, e);
    r = td_kafka_new(RD_KAFKA_CONSUMER, conf, &e->consumer, err);
    if (r < 0)
        return r;
    l = rd_kafka_topic_partition_list_new(4);
    for (size_t i = 0; i < 4; i++)
        rd_kafka_topic_partition_list_add(l, topics[i], RD_KAFKA_PARTITION_UA);
    x = rd_kafka_subscribe(e->consumer, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (x)
        return td_error_set(err, -EIO, "subscribe: %s", rd_kafka_err2str(x));
    return 0;
}

static void tdm_reload(tdm_engine *e)
{
    tdm_rules *next = NULL;
    td_error err = {0};

    td_notify_reloading();
    if (tdm_rules_reload(e->rules, e->cfg->rules, &next, &err) < 0) {
        td_log_error("rules not reloaded, keeping the current ones: %s", err.msg);
    } else {
        tdm_rules_free(e->rules);
        e->rules = next;
        e->ctx.rules = next;
        td_log_notice("rules reloaded from %s: %zu rules", e->cfg->rules, tdm_rules_count(next));
    }
    td_notify_ready("running");
}

int tdm_engine_run(tdm_engine *e, td_error *err)
{
    int r;

    r = tdm_start_producer(e, err);
    if (r == 0)
        r = tdm_roster_start(e, err);
    if (r == 0)
        r = tdm_start_consumer(e, err);
    if (r < 0)
        return r;
    td_notify_ready("running");
    td_log_notice("ready: group %s, transactional.id %s", e->cfg->group_id, e->txn_id);
    while (!tdm_stopping()) {
        rd_kafka_message_t *m;

        td_notify_watchdog();
        if (td_signal_take_reload())
            tdm_reload(e);
        r = tdm_roster_poll(e, 0, NULL, 0, err);
        if (r < 0)
            return r;
        m = rd_kafka_consumer_poll(e->consumer, 100);
        if (e->cb_rc < 0) {
            if (m)
                rd_kafka_message_destroy(m);
            return td_error_set(err, e->cb_rc, "%s", e->cb_err.msg);
        }
        if (m) {
            if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
                char reason[512];
                rd_kafka_fatal_error(e->consumer, reason, sizeof(reason));
                rd_kafka_message_destroy(m);
                return td_error_set(err, -ENOTRECOVERABLE, "consumer: %s", reason);
            }
            if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                td_log_warning("consumer: %s", rd_kafka_message_errstr(m));
                r = 0;
            } else {
                r = tdm_process(e, m, err);
            }
            rd_kafka_message_destroy(m);
            if (r == -ECANCELED)
                r = tdm_rewind(e, err);
            if (r < 0)
                return r;
        }
        rd_kafka_poll(e->producer, 0);
        if (e->restore_started && !e->restoring) {
            /* The restored states go to LMDB only: nothing was produced, and
             * the consumer's positions of the partitions that waited are
             * past records not processed yet, so no Kafka commit here. Those
             * partitions are then read again from where they were. */
            r = tdm_store_batch(e, err);
            if (r < 0)
                return r;
            td_log_notice("restore done");
            if (tdm_assign_all(e, false) < 0)
                return td_error_set(err, -EIO, "%s", e->cb_err.msg);
            e->restore_started = false;
        } else if (e->batch_records >= e->cfg->transaction.max_records ||
                   (e->batch_records > 0 && td_time_mono_ms() - e->batch_started_ms >=
                                                e->cfg->transaction.max_interval_ms)) {
            r = tdm_commit(e, err);
            if (r < 0)
                return r;
        }
        td_notify_status("%" PRIu64 " records, %" PRIu64 " alerts, %" PRIu64 " rejected",
                         e->n_records, e->n_alerts, e->n_rejected);
    }
    td_notify_stopping("stopping");
    r = tdm_commit(e, err);
    if (r < 0)
        return r;
    td_log_notice("stopped: %" PRIu64 " records, %" PRIu64 " alerts, %" PRIu64
                  " rejected, %" PRIu64 " skipped", e->n_records, e->n_alerts, e->n_rejected,
                  e->n_skipped);
    return 0;
}

/* ---------------------------------------------------------- new / free */

int tdm_engine_new(const tdm_config *cfg, tdm_engine **ret, td_error *err)
{
    tdm_engine *e = calloc(1, sizeof(*e));
    const td_avro_schema *s;
    int r;

    if (!e)
        return td_error_set(err, -ENOMEM, "out of memory");
    e->cfg = cfg;
    snprintf(e->instance, sizeof(e->instance), "tuodi-matchd@%s", cfg->group_id);
    snprintf(e->txn_id, sizeof(e->txn_id), "tuodi-matchd.%s", cfg->group_id);
    snprintf(e->roster_group, sizeof(e->roster_group), "%s.roster", cfg->group_id);
    r = tdm_rules_load(cfg->rules, &e->rules, err);
    if (r < 0)
        goto fail;
    r = td_avro_registry_new(&e->reg);
    if (r < 0) {
        r = td_error_set(err, r, "out of memory");
        goto fail;
    }
    r = td_avro_registry_load_dir(e->reg, cfg->schemas_dir, NULL, err);
    if (r < 0)
        goto fail;
    for (int i = 0; i < TDM_IN_COUNT; i++) {
        s = td_avro_registry_find_name(e->reg, tdm_in_schema[i]);
        if (!s) {
            r = td_error_set(err, -ENOENT, "%s: no schema %s", cfg->schemas_dir, tdm_in_schema[i]);
            goto fail;
        }
        r = td_avro_decoder_new(e->reg, s, &e->dec[i], err);
        if (r < 0)
            goto fail;
    }
    s = td_avro_registry_find_name(e->reg, TDM_ROSTER_SCHEMA);
    e->alert_schema = td_avro_registry_find_name(e->reg, "cn.tuodi.Alert");
    if (!s || !e->alert_schema) {
        r = td_error_set(err, -ENOENT, "%s: no Household or Alert schema", cfg->schemas_dir);
        goto fail;
    }
    r = td_avro_decoder_new(e->reg, s, &e->hh_dec, err);
    if (r == 0)
        r = td_avro_schema_value_new(e->alert_schema, &e->alert_value, err);
    if (r < 0)
        goto fail;
    e->has_alert_value = true;
    r = tdm_store_open(cfg->state_dir, 0, &e->store, err);
    if (r < 0)
        goto fail;
    if (tdm_store_was_reset(e->store))
        td_log_warning("state in %s was unreadable and has been reset: rebuilding from Kafka",
                       cfg->state_dir);
    r = tdm_store_db(e->store, "state", &e->db_state, err);
    if (r == 0)
        r = tdm_store_db(e->store, "alerts", &e->db_alerts, err);
    if (r == 0)
        r = tdm_roster_new(e->store, e->reg, &e->roster, err);
    if (r < 0)
        goto fail;
    e->ctx.rules = e->rules;
    e->ctx.calendar = NULL;
    e->ctx.instance = e->instance;
    *ret = e;
    return 0;
fail:
    tdm_engine_free(e);
    return r;
}

tdm_engine *tdm_engine_free(tdm_engine *e)
{
    if (!e)
        return NULL;
    if (e->consumer) {
        rd_kafka_consumer_close(e->consumer);
        rd_kafka_destroy(e->consumer);
    }
    if (e->rconsumer)
        td_kafka_destroy(e->rconsumer);
    if (e->producer) {
        if (e->txn_open) {
            td_error err = {0};
            td_kafka_txn_abort(e->producer, 10000, &err);
        }
        td_kafka_destroy(e->producer);
    }
    tdm_batch_drop(e);
    free(e->dirty);
    free(e->idx);
    tdm_parts_clear(e);
    for (size_t i = 0; i < e->ntopics; i++)
        free(e->topics[i]);
    free(e->topics);
    tdm_alert_list_done(&e->alerts);
    td_avro_buf_done(&e->buf);
    if (e->has_alert_value)
        avro_value_decref(&e->alert_value);
    tdm_roster_free(e->roster);
    tdm_store_close(e->store);
    for (int i = 0; i < TDM_IN_COUNT; i++)
        td_avro_decoder_free(e->dec[i]);
    td_avro_decoder_free(e->hh_dec);
    td_avro_registry_free(e->reg);
    tdm_rules_free(e->rules);
    free(e);
    return NULL;
}
