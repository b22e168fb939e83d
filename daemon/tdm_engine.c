/* tdm_engine: see tdm_engine.h and docs/matchd-design.md. */
#include "tdm_engine.h"

#include "td_avro.h"
#include "td_http.h"
#include "td_kafka.h"
#include "td_log.h"
#include "td_notify.h"
#include "td_path.h"
#include "td_signal.h"
#include "td_time.h"
#include "tdm_alert.h"
#include "tdm_calendar.h"
#include "tdm_eval.h"
#include "tdm_manifest.h"
#include "tdm_metrics.h"
#include "tdm_prune.h"
#include "tdm_roster.h"
#include "tdm_rules.h"
#include "tdm_store.h"
#include "tdm_suspect.h"
#include "tdm_window.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TDM_STARTUP_TIMEOUT_MS 30000
#define TDM_PROBE_TIMEOUT_MS 10000 /* --check-config --connect */
#define TDM_RETRY_WAIT_MS 1000
/* The longest a blocking librdkafka call of this file takes before it looks
 * at the stop flag again. */
#define TDM_SLICE_MS 500
#define TDM_KEY_MAX 600
#define TDM_DAY_MS 86400000LL
/* A partition's buffer: paused above HIGH records, resumed below LOW (a
 * safety net: tdm_take reads only what the merge needs). */
#define TDM_BUF_HIGH 100000
#define TDM_BUF_LOW 50000
/* Most records taken from the consumer queue in one round. */
#define TDM_POLL_ROUND 5000
/* Key of the stream clock in the 'engine' database. */
#define TDM_CLOCK_KEY "stream_time"
/* How often the loop refreshes the gauges and /ready's reason, and probes
 * the brokers once librdkafka said they are all down. */
#define TDM_GAUGES_MS 1000
#define TDM_PROBE_MS 200

/* Inputs, in the order that breaks ties between equal timestamps: the
 * roster (the table) before the records joined to it. */
enum {
    TDM_IN_ROSTER,
    TDM_IN_CLOCK,
    TDM_IN_MEDICAL,
    TDM_IN_CIVIL,
    TDM_IN_HR,
    TDM_IN_VERIFY,
    TDM_IN_COUNT
};

static const char *const tdm_in_schema[TDM_IN_COUNT] = {
    NULL, NULL, "cn.tuodi.MedicalSettlement", "cn.tuodi.CivilAffairsEvent",
    "cn.tuodi.EmploymentEvent", "cn.tuodi.VerificationOutcome",
};
/* The dataset an input's dead letters name (tuodi.dataset, as the
 * connectors name theirs). */
static const char *const tdm_in_name[TDM_IN_COUNT] = {
    "roster", "clock", "medical_insurance", "civil_affairs", "human_resources", "verifications",
};
static const tdm_dataset tdm_in_dataset[TDM_IN_COUNT] = {
    TDM_DATASET_HOUSEHOLD,         TDM_DATASET_ANY,           TDM_DATASET_MEDICAL_INSURANCE,
    TDM_DATASET_CIVIL_AFFAIRS,     TDM_DATASET_HUMAN_RESOURCES, TDM_DATASET_ANY,
};

/* An assigned partition of the group consumer with the records fetched but
 * not processed yet (in offset order). */
typedef struct tdm_part {
    char *topic;
    int32_t partition;
    int in;              /* TDM_IN_* */
    int64_t base;        /* where the open batch started (rewind target), -1: beginning */
    int64_t next;        /* next offset to process, -1: not known yet */
    int64_t restore_end; /* records below are re-processed without producing; -1: none */
    rd_kafka_message_t **q;
    size_t qhead, qn, qcap;
    bool eof;            /* the fetcher reached eof_offset, after the buffered records */
    int64_t eof_offset;
    bool paused;
    /* The start-up load (the roster up to its end, a restore up to the
     * committed offset) this partition takes part in: offsets [load_from,
     * load_to) as known at the assignment; load_to -1: none. */
    int64_t load_from, load_to;
    /* where this partition's records fell in the open batch's processing
     * order: its metadata in the batch's offset commit (tdm_manifest.h) */
    tdm_manifest man;
} tdm_part;

/* A state of the open batch: the window (alerts) and the suspects of one
 * subject, each loaded when first needed (NULL: not loaded). s_due is the
 * day under which the key stands in the suspect due index (INT32_MAX:
 * none), kept in LMDB with the suspects. */
typedef struct tdm_dirty {
    char *key;
    tdm_window *w;
    tdm_suspects *s;
    int32_t s_due;
    int32_t w_spent;     /* the day under which the key stands in the spent
                          * index (tdm_window_spent_day; INT32_MAX: none) */
} tdm_dirty;

/* A suspects state changed by the operation at hand, and its copy from
 * before it (tdm_sus_undo puts it back when the operation fails). */
typedef struct tdm_sus_touched {
    char *key;
    tdm_suspects *before;
} tdm_sus_touched;

struct tdm_engine {
    const tdm_config *cfg;
    tdm_store *store;
    size_t map_size;     /* the store's map when last logged (it grows) */
    td_avro_registry *reg;
    tdm_roster *roster;
    tdm_rules *rules;
    tdm_workdays *workdays;         /* China's working days (ctx.calendar) */
    tdm_db db_state, db_alerts, db_due, db_engine;
    /* Bounded state (docs/matchd-design.md, "Size of the state"): the
     * closures of alerts and suspects, (day, id) -> "" (tdm_prune.h), and
     * (the day a state is spent if nothing comes, state key) -> "". */
    tdm_db db_alerts_closed, db_sus_closed, db_spent;
    int closed_retention_days; /* store.closed_retention */
    /* the suspicious-data list: states by subject key (the due day, then
     * tdm_suspects_encode's bytes), suspect id -> state key NUL county, and
     * (due day, state key) -> "" */
    tdm_db db_sus, db_sus_index, db_sus_due;
    bool sus_on;         /* cfg->suspects and an enabled suspect rule */
    const td_avro_schema *suspect_schema;
    avro_value_t suspect_value;
    bool has_suspect_value;
    tdm_suspect_list suspects;
    tdm_sus_touched *touched;
    size_t ntouched, touched_cap;
    td_avro_decoder *dec[TDM_IN_COUNT];
    td_avro_decoder *hh_dec;
    td_avro_decoder *alert_dec;     /* the stored original ALERTs */
    const td_avro_schema *alert_schema;
    avro_value_t alert_value;
    bool has_alert_value;
    td_avro_buf buf;
    tdm_alert_list alerts;
    tdm_eval_ctx ctx;
    char instance[160];
    char txn_id[160];
    size_t max_message;  /* the largest message the producer and a default topic take */
    int keep_days;       /* longest window + lateness */

    rd_kafka_t *producer, *consumer;
    tdm_part *parts;
    size_t nparts;
    bool assigned;       /* an assignment arrived (maybe empty) */
    bool partial;        /* it lacks partitions of the inputs: hold (see tdm_on_assign) */
    bool partial_logged;
    bool restoring;
    bool restore_started; /* restoring was true since the assignment */
    /* A restore by the batch manifests (tdm_on_assign): the part index of
     * each position of the batch being replayed (NULL: the merge). */
    size_t *replay;
    size_t replay_n;
    char replay_bad[256];    /* why the replay does not match the topics */
    int32_t roster_partitions; /* of the roster topic, from metadata */

    /* The open batch: one LMDB write transaction (the roster index, the
     * alert and due indexes written into it directly, the states from
     * 'dirty' at commit) that commits after the Kafka transaction. */
    tdm_txn *wtxn;
    tdm_dirty *dirty;
    size_t ndirty, dirty_cap;
    size_t *dirty_hash;      /* open addressing: index + 1 into dirty, 0 empty */
    size_t hash_cap;         /* a power of two, >= 2 * dirty_cap */
    char **topics;
    size_t ntopics;

    /* The stream clock: the largest input timestamp processed (ms). */
    int64_t stream_ms, stream_ms_committed;

    bool txn_open;
    int64_t batch_records;
    int64_t batch_started_ms;
    bool batch_full;         /* a partition's manifest passed TDM_MANIFEST_SOFT_MAX */
    /* The batch's processing order left (timestamp, input, partition)
     * order: the merge would replay it otherwise. last_* is the last key. */
    bool batch_reordered;
    int64_t last_ts;
    int last_in;
    int32_t last_partition;
#ifdef TDM_FAULT_INJECTION
    /* TDM_FAULT_AFTER_KAFKA_COMMIT (test builds only): exit between the
     * Kafka and the LMDB commit, of a reordered batch (fault_p < 0) or with
     * probability fault_p; 0: off */
    double fault_p;
#endif
    int64_t wait_since_ms;   /* the merge waits for a partition since (mono), 0: not */
    bool wait_logged;
    int64_t last_tick_ms;    /* mono time of the last tick written */
    bool ready;
    td_error cb_err;         /* an error inside the rebalance callback */
    int cb_rc;

    /* The start-up load's progress (tdm_load_progress): offsets to read
     * in all, since when (mono ms), and when it was last logged. */
    bool loading;
    int64_t load_total, load_started_ms, load_logged_ms;

    uint64_t n_records, n_alerts, n_rejected, n_skipped, n_roster, n_suspects;
    /* Records of the open batch held back as old (alerts.max_event_age),
     * not counting a restore's: logged in one line when the batch commits. */
    uint64_t batch_held_back;

    /* The http: endpoint (NULL: off) and the metrics it serves. */
    td_http *http;
    tdm_metrics *mx;
    int64_t gauges_ms;       /* mono time the gauges were last refreshed */
    uint64_t assign_gen, lag_gen; /* assignments seen; the one the lag series are of */
    /* librdkafka reported all brokers down (its error callback, in the
     * loop's thread); cleared when a metadata request answers again. */
    bool brokers_down;
    /* where the time goes (logged at stop) */
    uint64_t n_pauses, n_commits;
    int64_t commit_ms, merge_wait_ms;
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

static void tdm_wait(tdm_engine *e, int ms)
{
    int64_t end = td_time_mono_ms() + ms;
    while (!tdm_stopping() && td_time_mono_ms() < end) {
        td_notify_watchdog();
        td_http_beat(e->http);
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

static int32_t tdm_stream_day(const tdm_engine *e)
{
    return tdm_eval_cst_day(e->stream_ms);
}

/* ------------------------------------------------------ partition buffers */

static tdm_part *tdm_part_find(tdm_engine *e, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < e->nparts; i++)
        if (e->parts[i].partition == partition && strcmp(e->parts[i].topic, topic) == 0)
            return &e->parts[i];
    return NULL;
}

static rd_kafka_message_t *tdm_part_head(const tdm_part *p)
{
    return p->qn ? p->q[p->qhead] : NULL;
}

static int tdm_part_push(tdm_part *p, rd_kafka_message_t *m)
{
    if (p->qn == p->qcap) {
        size_t cap = p->qcap ? p->qcap * 2 : 256;
        rd_kafka_message_t **v = malloc(cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        for (size_t i = 0; i < p->qn; i++)
            v[i] = p->q[(p->qhead + i) % p->qcap];
        free(p->q);
        p->q = v;
        p->qcap = cap;
        p->qhead = 0;
    }
    p->q[(p->qhead + p->qn) % p->qcap] = m;
    p->qn++;
    return 0;
}

static void tdm_part_pop(tdm_part *p)
{
    rd_kafka_message_destroy(p->q[p->qhead]);
    p->qhead = (p->qhead + 1) % p->qcap;
    p->qn--;
}

static void tdm_part_flush(tdm_part *p)
{
    while (p->qn)
        tdm_part_pop(p);
    p->eof = false;
    p->eof_offset = -1;
}

static void tdm_parts_clear(tdm_engine *e)
{
    for (size_t i = 0; i < e->nparts; i++) {
        tdm_part_flush(&e->parts[i]);
        free(e->parts[i].q);
        free(e->parts[i].topic);
        tdm_manifest_done(&e->parts[i].man);
    }
    free(e->parts);
    e->parts = NULL;
    e->nparts = 0;
    e->restoring = false;
    e->restore_started = false;
    free(e->replay);
    e->replay = NULL;
    e->replay_n = 0;
}

static void tdm_part_pause(tdm_engine *e, tdm_part *p, bool pause)
{
    rd_kafka_topic_partition_list_t *l;

    if (p->paused == pause)
        return;
    l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, p->topic, p->partition);
    if (pause) {
        rd_kafka_pause_partitions(e->consumer, l);
        e->n_pauses++;
    }
    else
        rd_kafka_resume_partitions(e->consumer, l);
    rd_kafka_topic_partition_list_destroy(l);
    p->paused = pause;
}

/* ------------------------------------------------------------- the batch */

static void tdm_sus_forget(tdm_engine *e);

static void tdm_batch_drop(tdm_engine *e)
{
    for (size_t i = 0; i < e->ndirty; i++) {
        free(e->dirty[i].key);
        tdm_window_free(e->dirty[i].w);
        tdm_suspects_free(e->dirty[i].s);
    }
    e->ndirty = 0;
    if (e->dirty_hash)
        memset(e->dirty_hash, 0, e->hash_cap * sizeof(*e->dirty_hash));
    if (e->wtxn) {
        tdm_store_abort(e->wtxn);
        e->wtxn = NULL;
    }
    e->batch_records = 0;
    e->batch_held_back = 0;
    e->batch_full = false;
    e->batch_reordered = false;
    for (size_t i = 0; i < e->nparts; i++)
        tdm_manifest_reset(&e->parts[i].man, e->parts[i].base);
    e->stream_ms = e->stream_ms_committed;
    tdm_sus_forget(e);
    tdm_suspect_list_reset(&e->suspects);
    tdm_metrics_drop(e->mx);
}

/* The batch's LMDB write transaction, begun on first use. */
static int tdm_wtxn(tdm_engine *e, tdm_txn **ret, td_error *err)
{
    if (!e->wtxn) {
        int r = tdm_store_begin(e->store, &e->wtxn, err);
        if (r < 0)
            return r;
    }
    *ret = e->wtxn;
    return 0;
}

static int tdm_strp_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static size_t tdm_hash(const char *key)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *key; key++)
        h = (h ^ (unsigned char)*key) * 1099511628211ULL;
    return (size_t)(h ^ (h >> 29));
}

/* The slot of key in the hash index (its entry, or the empty slot where it
 * goes). */
static size_t tdm_hash_slot(const tdm_engine *e, const char *key)
{
    size_t mask = e->hash_cap - 1, i = tdm_hash(key) & mask;
    while (e->dirty_hash[i] && strcmp(e->dirty[e->dirty_hash[i] - 1].key, key) != 0)
        i = (i + 1) & mask;
    return i;
}

/* Room for one more state in the batch (array and hash index). */
static int tdm_dirty_grow(tdm_engine *e)
{
    size_t cap, hcap;
    tdm_dirty *v;
    size_t *h;

    if (e->ndirty < e->dirty_cap)
        return 0;
    cap = e->dirty_cap ? e->dirty_cap * 2 : 256;
    v = realloc(e->dirty, cap * sizeof(*v));
    if (!v)
        return -ENOMEM;
    e->dirty = v;
    e->dirty_cap = cap;
    hcap = cap * 2;
    h = calloc(hcap, sizeof(*h));
    if (!h)
        return -ENOMEM;
    free(e->dirty_hash);
    e->dirty_hash = h;
    e->hash_cap = hcap;
    for (size_t i = 0; i < e->ndirty; i++)
        e->dirty_hash[tdm_hash_slot(e, e->dirty[i].key)] = i + 1;
    return 0;
}

/* The batch's entry of key (added, with nothing loaded, when missing). The
 * array may move: pointers into it from before are stale. */
static int tdm_dirty_of(tdm_engine *e, const char *key, tdm_dirty **ret, td_error *err)
{
    size_t slot;
    tdm_dirty *d;

    if (tdm_dirty_grow(e) < 0)
        return td_error_set(err, -ENOMEM, "out of memory");
    slot = tdm_hash_slot(e, key);
    if (e->dirty_hash[slot]) {
        *ret = &e->dirty[e->dirty_hash[slot] - 1];
        return 0;
    }
    d = &e->dirty[e->ndirty];
    memset(d, 0, sizeof(*d));
    d->key = strdup(key);
    if (!d->key)
        return td_error_set(err, -ENOMEM, "out of memory");
    d->s_due = INT32_MAX;
    d->w_spent = INT32_MAX;
    e->dirty_hash[slot] = ++e->ndirty;
    *ret = d;
    return 0;
}

/* The state of key for the open batch: from the batch, else LMDB, else new;
 * expired to the stream clock (before every evaluation, so that what is
 * forgotten depends on the inputs only, not on where batches end). */
static int tdm_state_get(tdm_engine *e, const char *key, bool create, tdm_dirty **ret,
                         td_error *err)
{
    tdm_txn *txn = NULL;
    const void *val;
    size_t len;
    tdm_window *w = NULL;
    tdm_dirty *d = NULL;
    int r;

    r = tdm_dirty_of(e, key, &d, err);
    if (r < 0)
        return r;
    if (!d->w) {
        r = tdm_wtxn(e, &txn, err);
        if (r < 0)
            return r;
        r = tdm_store_get(txn, e->db_state, key, strlen(key), &val, &len, err);
        if (r == 0) {
            r = tdm_window_decode(val, len, &w, err);
            if (r == 0) {
                tdm_metrics_window(e->mx, w, TDM_METRICS_LOADED);
                /* where tdm_store_batch indexed it, from the same bytes */
                d->w_spent = tdm_window_spent_day(w, e->keep_days);
            }
        } else if (r == -ENOENT && !create)
            return -ENOENT;
        else if (r == -ENOENT) {
            w = tdm_window_new();
            r = w ? 0 : td_error_set(err, -ENOMEM, "out of memory");
        }
        if (r < 0)
            return r;
        d->w = w;
    }
    if (e->stream_ms > 0) {
        int32_t today = tdm_stream_day(e);
        if (tdm_window_floor(d->w) < today - e->keep_days) {
            r = tdm_window_expire(d->w, today, e->keep_days);
            if (r < 0)
                return td_error_set(err, r, "expiring a state: %s", strerror(-r));
        }
    }
    *ret = d;
    return 0;
}

static int tdm_state(tdm_engine *e, const char *key, tdm_dirty **ret, td_error *err)
{
    return tdm_state_get(e, key, true, ret, err);
}

/* A member of household hid who had a state of his own (first seen off the
 * roster) brings his history along: his spending and signals move into the
 * household's windows; his alerts stay where outcomes find them. */
static int tdm_absorb_members(tdm_engine *e, const tdm_household *view, const char *hid,
                              td_error *err)
{
    char pkey[TDM_KEY_MAX];
    int r;

    for (size_t i = 0; i < view->nmembers; i++) {
        tdm_dirty *pd = NULL, *hd = NULL;
        size_t pi;
        if (!view->members[i].person_key ||
            strlen(view->members[i].person_key) + 8 > sizeof(pkey))
            continue;
        snprintf(pkey, sizeof(pkey), "person:%s", view->members[i].person_key);
        r = tdm_state_get(e, pkey, false, &pd, err);
        if (r == -ENOENT)
            continue;
        if (r < 0)
            return r;
        pi = (size_t)(pd - e->dirty);
        r = tdm_state(e, hid, &hd, err);
        if (r < 0)
            return r;
        pd = &e->dirty[pi]; /* the array may have moved */
        r = tdm_window_absorb(hd->w, pd->w);
        if (r < 0)
            return td_error_set(err, r, "household %s: taking over a member's history: %s", hid,
                                strerror(-r));
        if (r > 0)
            td_log_info("household %s: took over the history of a member first seen off the "
                        "roster", hid);
    }
    return 0;
}

/* Due-index key: the visit due day (big-endian, offset so that it sorts)
 * then the alert id. */
static size_t tdm_due_key(int32_t due, const char *alert_id, unsigned char *buf, size_t size)
{
    uint32_t u = (uint32_t)due ^ 0x80000000u;
    size_t n = strlen(alert_id);

    if (4 + n > size)
        return 0;
    buf[0] = (unsigned char)(u >> 24);
    buf[1] = (unsigned char)(u >> 16);
    buf[2] = (unsigned char)(u >> 8);
    buf[3] = (unsigned char)u;
    memcpy(buf + 4, alert_id, n);
    return 4 + n;
}

/* The state key holding alert_id, into buf. */
static int tdm_idx_find(tdm_engine *e, const char *alert_id, char *buf, size_t size,
                        td_error *err)
{
    tdm_txn *txn = NULL;
    const void *val;
    size_t len;
    int r;

    if (!*alert_id || strlen(alert_id) > TDM_ALERT_ID_MAX)
        return -ENOENT;
    r = tdm_wtxn(e, &txn, err);
    if (r < 0)
        return r;
    r = tdm_store_get(txn, e->db_alerts, alert_id, strlen(alert_id), &val, &len, err);
    if (r == 0) {
        const char *nul = memchr(val, '\0', len); /* state key, NUL, the ALERT */
        size_t klen = nul ? (size_t)(nul - (const char *)val) : len;
        if (klen >= size)
            return td_error_set(err, -ERANGE, "state key too long");
        memcpy(buf, val, klen);
        buf[klen] = '\0';
    }
    return r;
}

/* A suspects state into txn: its due day (4 bytes, little-endian) then its
 * encoding; an empty one is deleted. */
static int tdm_sus_store(tdm_engine *e, tdm_txn *txn, const tdm_dirty *d, td_error *err)
{
    size_t n;
    uint32_t due = (uint32_t)d->s_due;
    int r;

    if (tdm_suspects_is_empty(d->s)) {
        r = tdm_store_del(txn, e->db_sus, d->key, strlen(d->key), err);
        return r == -ENOENT ? 0 : r;
    }
    n = tdm_suspects_encoded_size(d->s);
    if (td_avro_buf_reserve(&e->buf, n + 4) < 0)
        return td_error_set(err, -ENOMEM, "out of memory");
    for (int i = 0; i < 4; i++)
        e->buf.data[i] = (unsigned char)(due >> (8 * i));
    r = tdm_suspects_encode(d->s, e->buf.data + 4, n);
    if (r < 0)
        return td_error_set(err, r, "encoding a suspects state: %s", strerror(-r));
    return tdm_store_put(txn, e->db_sus, d->key, strlen(d->key), e->buf.data, n + 4, err);
}

/* Spent-index key: the day (as the due index) then the state key. */
static size_t tdm_spent_key(int32_t day, const char *skey, unsigned char *buf, size_t size)
{
    return tdm_due_key(day, skey, buf, size);
}

/* Moves d's entry in the spent index to the day its window, as it will be
 * stored, is spent if nothing comes (none for a spent window, deleted now,
 * or one with an open alert). */
static int tdm_spent_index(tdm_engine *e, tdm_txn *txn, tdm_dirty *d, td_error *err)
{
    unsigned char key[4 + TDM_KEY_MAX];
    int32_t day = tdm_window_is_spent(d->w) ? INT32_MAX : tdm_window_spent_day(d->w, e->keep_days);
    size_t n;
    int r;

    if (day == d->w_spent)
        return 0;
    if (d->w_spent != INT32_MAX && (n = tdm_spent_key(d->w_spent, d->key, key, sizeof(key)))) {
        r = tdm_store_del(txn, e->db_spent, key, n, err);
        if (r < 0 && r != -ENOENT)
            return r;
    }
    d->w_spent = INT32_MAX;
    if (day == INT32_MAX || !(n = tdm_spent_key(day, d->key, key, sizeof(key))))
        return 0;
    r = tdm_store_put(txn, e->db_spent, key, n, "", 0, err);
    if (r == 0)
        d->w_spent = day;
    return r;
}

/* Writes the batch's states, the offsets and the stream clock into the
 * batch's LMDB transaction and commits it (after the Kafka commit). */
static int tdm_store_batch(tdm_engine *e, td_error *err)
{
    tdm_txn *txn = NULL;
    unsigned char clock[8];
    int r;

    r = tdm_wtxn(e, &txn, err);
    if (r < 0)
        return r;
    for (size_t i = 0; i < e->ndirty && r == 0; i++)
        if (e->dirty[i].s)
            r = tdm_sus_store(e, txn, &e->dirty[i], err);
    for (size_t i = 0; i < e->ndirty && r == 0; i++) {
        const char *k = e->dirty[i].key;
        if (!e->dirty[i].w)
            continue;
        r = tdm_spent_index(e, txn, &e->dirty[i], err);
        if (r < 0)
            break;
        /* nothing left but the floor: the clock gives a new state the same */
        if (tdm_window_is_spent(e->dirty[i].w)) {
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
    for (size_t i = 0; i < e->nparts && r == 0; i++)
        if (e->parts[i].next >= 0)
            r = tdm_store_offset_set(txn, e->parts[i].topic, e->parts[i].partition,
                                     e->parts[i].next, err);
    if (r == 0) {
        for (int i = 0; i < 8; i++)
            clock[i] = (unsigned char)((uint64_t)e->stream_ms >> (8 * i));
        r = tdm_store_put(txn, e->db_engine, TDM_CLOCK_KEY, strlen(TDM_CLOCK_KEY), clock, 8,
                          err);
    }
    e->wtxn = NULL;
    if (r < 0) {
        tdm_store_abort(txn);
        return r;
    }
    r = tdm_store_commit(txn, err);
    if (r < 0)
        return r;
    if (tdm_store_map_size(e->store) != e->map_size) {
        e->map_size = tdm_store_map_size(e->store);
        td_log_notice("state store: the map grew to %zu MiB (store.max_map_size %" PRId64
                      " MiB)", e->map_size >> 20, e->cfg->store.max_map_size >> 20);
    }
    for (size_t i = 0; i < e->nparts; i++)
        if (e->parts[i].next >= 0)
            e->parts[i].base = e->parts[i].next;
    e->stream_ms_committed = e->stream_ms;
    for (size_t i = 0; i < e->ndirty; i++) {
        if (e->dirty[i].w)
            tdm_metrics_window(e->mx, e->dirty[i].w, TDM_METRICS_STORED);
        if (e->dirty[i].s)
            tdm_metrics_suspects_open(e->mx, tdm_suspects_open_count(e->dirty[i].s),
                                      TDM_METRICS_STORED);
    }
    if (e->batch_held_back > 0) {
        td_log_info("%" PRIu64 " record(s) older than alerts.max_event_age (%" PRId32
                    " days) updated windows and signals but raised no alert",
                    e->batch_held_back, e->ctx.max_event_age);
        tdm_metrics_held_back(e->mx, e->batch_held_back);
    }
    tdm_metrics_flush(e->mx);
    tdm_batch_drop(e);
    return 0;
}

static int tdm_clock_load(tdm_engine *e, td_error *err)
{
    tdm_txn *txn = NULL;
    const void *val;
    size_t len;
    int r = tdm_store_begin_read(e->store, &txn, err);

    if (r < 0)
        return r;
    e->stream_ms_committed = 0;
    r = tdm_store_get(txn, e->db_engine, TDM_CLOCK_KEY, strlen(TDM_CLOCK_KEY), &val, &len, err);
    if (r == 0 && len == 8) {
        uint64_t u = 0;
        for (int i = 0; i < 8; i++)
            u |= (uint64_t)((const unsigned char *)val)[i] << (8 * i);
        e->stream_ms_committed = (int64_t)u;
    }
    tdm_store_abort(txn);
    e->stream_ms = e->stream_ms_committed;
    return r == -ENOENT ? 0 : r < 0 ? r : 0;
}

/* ------------------------------------------------------------- producing */

static int tdm_topic_ensure(tdm_engine *e, const char *topic, int partitions, td_error *err)
{
    td_kafka_topic_spec spec;
    char **v;
    int r;

    for (size_t i = 0; i < e->ntopics; i++)
        if (strcmp(e->topics[i], topic) == 0)
            return 0;
    memset(&spec, 0, sizeof(spec));
    spec.name = topic;
    spec.partitions = partitions;
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

/* The dead-letter topic of input in (NULL: the clock, the daemon's own). */
static const char *tdm_dlq_topic(const tdm_engine *e, int in)
{
    const tdm_topics_config *t = &e->cfg->topics;
    switch (in) {
    case TDM_IN_ROSTER:
        return t->dlq_roster;
    case TDM_IN_MEDICAL:
        return t->dlq_medical;
    case TDM_IN_CIVIL:
        return t->dlq_civil;
    case TDM_IN_HR:
        return t->dlq_hr;
    case TDM_IN_VERIFY:
        return t->dlq_verifications;
    case TDM_IN_CLOCK:
        return NULL;
    }
    return NULL;
}

static bool tdm_is_dlq(const tdm_engine *e, const char *topic)
{
    for (int i = 0; i < TDM_IN_COUNT; i++)
        if (tdm_dlq_topic(e, i) && strcmp(tdm_dlq_topic(e, i), topic) == 0)
            return true;
    return false;
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

/* Produces in the open transaction (begun here if needed). partition 0 and
 * ts 0 leave both to librdkafka (the key's partition, the current time) for
 * every topic but the clock. Takes hdrs in every case. */
static int tdm_produce(tdm_engine *e, const char *topic, const void *key, size_t key_len,
                       const void *value, size_t len, rd_kafka_headers_t *hdrs,
                       int32_t partition, int64_t ts, td_error *err)
{
    bool clock = strcmp(topic, e->cfg->topics.clock) == 0;
    bool one = clock || tdm_is_dlq(e, topic); /* as deploy/topics.yaml */
    int r = tdm_topic_ensure(e, topic, one ? 1 : (int)e->cfg->topics.alert_partitions, err);
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
        rd_kafka_vu_t vu[7];
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
        if (clock) {
            vu[n].vtype = RD_KAFKA_VTYPE_PARTITION;
            vu[n++].u.i32 = partition;
        }
        if (ts > 0) {
            vu[n].vtype = RD_KAFKA_VTYPE_TIMESTAMP;
            vu[n++].u.i64 = ts;
        }
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
        if (x == RD_KAFKA_RESP_ERR__QUEUE_FULL && td_signal_budget_ms(100) > 0) {
            rd_kafka_poll(e->producer, td_signal_budget_ms(100));
            continue;
        }
        if (x == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            /* the queue stays full (Kafka away) past the stop deadline */
            if (hdrs)
                rd_kafka_headers_destroy(hdrs);
            return td_error_set(err, -ETIMEDOUT, "producing to %s: %s at the stop deadline",
                                topic, rd_kafka_err2str(x));
        }
        if (hdrs)
            rd_kafka_headers_destroy(hdrs);
        return td_error_set(err, -ECANCELED, "producing to %s: %s", topic, rd_kafka_err2str(x));
    }
}

/* An OVERDUE_WARNING or CLOSED message carries what the state knows; the
 * evidence, measure, suggested category and person of the original ALERT
 * (stored with the alert index) are copied into it. */
static int tdm_snapshot_fill(tdm_engine *e, const char *alert_id, td_error *err)
{
    static const char *const fields[] = {"evidence", "evidence_count", "measure",
                                         "suggested_category", "person_key", "person_name"};
    tdm_txn *txn = NULL;
    const void *val;
    size_t len;
    const char *nul;
    avro_value_t *orig = NULL;
    td_error e2 = {0};
    int r;

    r = tdm_wtxn(e, &txn, err);
    if (r == 0)
        r = tdm_store_get(txn, e->db_alerts, alert_id, strlen(alert_id), &val, &len, err);
    if (r == -ENOENT)
        return 0; /* an alert from before the index kept them */
    if (r < 0)
        return r;
    nul = memchr(val, '\0', len);
    if (!nul || (size_t)(nul - (const char *)val) + 1 >= len)
        return 0;
    r = td_avro_decode(e->alert_dec, nul + 1, len - (size_t)(nul + 1 - (const char *)val), &orig,
                       &e2);
    if (r < 0) {
        td_log_warning("alert %s: the stored ALERT is unreadable (%s): sent without its "
                       "evidence", alert_id, e2.msg);
        return 0;
    }
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        avro_value_t from, to;
        if (avro_value_get_by_name(orig, fields[i], &from, NULL) != 0 ||
            avro_value_get_by_name(&e->alert_value, fields[i], &to, NULL) != 0 ||
            avro_value_copy_fast(&to, &from) != 0)
            return td_error_set(err, -EINVAL, "alert %s: copying %s: %s", alert_id, fields[i],
                                avro_strerror());
    }
    return 0;
}

/* An escalation (docs/matchd-design.md, "Arrival order and escalation") is
 * the original ALERT, stored with the alert index, at the higher severity
 * and with its message re-made: e->alert_value becomes that. Without a
 * stored original (an alert from before the index kept them) the value
 * filled from the state's snapshot stays. */
static int tdm_escalation_fill(tdm_engine *e, const tdm_alert_out *a, td_error *err)
{
    tdm_txn *txn = NULL;
    const void *val;
    size_t len;
    const char *nul;
    avro_value_t *orig = NULL;
    td_error e2 = {0};
    int r;

    r = tdm_wtxn(e, &txn, err);
    if (r == 0)
        r = tdm_store_get(txn, e->db_alerts, a->alert_id, strlen(a->alert_id), &val, &len, err);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return r;
    nul = memchr(val, '\0', len);
    if (!nul || (size_t)(nul - (const char *)val) + 1 >= len)
        return 0;
    r = td_avro_decode(e->alert_dec, nul + 1, len - (size_t)(nul + 1 - (const char *)val), &orig,
                       &e2);
    if (r < 0) {
        td_log_warning("alert %s: the stored ALERT is unreadable (%s): escalated without its "
                       "evidence", a->alert_id, e2.msg);
        return 0;
    }
    if (avro_value_copy_fast(&e->alert_value, orig) != 0)
        return td_error_set(err, -EINVAL, "alert %s: copying the stored ALERT: %s", a->alert_id,
                            avro_strerror());
    return tdm_alert_avro_escalate(&e->alert_value, a->severity, err);
}

/* Produces (unless restoring) the alerts of one input and records the new
 * ALERTs and escalations in the alert index (alert id -> state key and the
 * ALERT's bytes: an escalation replaces them, so a later OVERDUE_WARNING or
 * CLOSED copies from it) and the due index. */
static int tdm_emit(tdm_engine *e, const char *state_key, bool restore, td_error *err)
{
    char topic[512];
    tdm_txn *txn = NULL;
    int r;

    for (size_t i = 0; i < e->alerts.n; i++) {
        const tdm_alert_out *a = &e->alerts.v[i];
        /* a closed alert leaves the index after the retention */
        if (a->kind == TDM_KIND_CLOSED) {
            r = tdm_wtxn(e, &txn, err);
            if (r == 0)
                r = tdm_prune_note(txn, e->db_alerts_closed, tdm_stream_day(e), a->alert_id,
                                   err);
            if (r < 0)
                return td_error_prefix(err, r, "alert %s: ", a->alert_id);
        }
        if (restore && a->kind != TDM_KIND_ALERT)
            continue;
        avro_value_reset(&e->alert_value);
        r = tdm_alert_out_to_avro(a, e->instance, &e->alert_value, err);
        if (r == 0 && a->kind != TDM_KIND_ALERT)
            r = tdm_snapshot_fill(e, a->alert_id, err);
        if (r == 0 && a->escalation)
            r = tdm_escalation_fill(e, a, err);
        if (r == 0)
            r = td_avro_encode(e->alert_schema, &e->alert_value, &e->buf, err);
        if (r < 0)
            return td_error_prefix(err, r, "alert %s: ", a->alert_id);
        if (a->kind == TDM_KIND_ALERT) {
            unsigned char due[4 + TDM_ALERT_ID_MAX + 1];
            size_t n = tdm_due_key(a->visit_due_date, a->alert_id, due, sizeof(due));
            size_t klen = strlen(state_key);
            char *v = malloc(klen + 1 + e->buf.len);
            if (!v)
                return td_error_set(err, -ENOMEM, "out of memory");
            memcpy(v, state_key, klen + 1);
            memcpy(v + klen + 1, e->buf.data, e->buf.len);
            r = tdm_wtxn(e, &txn, err);
            if (r == 0)
                r = tdm_store_put(txn, e->db_alerts, a->alert_id, strlen(a->alert_id), v,
                                  klen + 1 + e->buf.len, err);
            free(v);
            if (r == 0 && n)
                r = tdm_store_put(txn, e->db_due, due, n, state_key, klen, err);
            if (r < 0)
                return r;
        }
        if (restore)
            continue;
        snprintf(topic, sizeof(topic), "%s%s", e->cfg->topics.alerts_prefix,
                 a->route.topic + strlen(TDM_ALERT_TOPIC_PREFIX));
        r = tdm_produce(e, topic, a->route.key, strlen(a->route.key), e->buf.data, e->buf.len,
                        NULL, 0, 0, err);
        if (r < 0)
            return r;
        e->n_alerts++;
        (void)tdm_metrics_alert(e->mx, a->rule_id, a->route.county_code,
                                a->escalation                 ? "escalated"
                                : a->kind == TDM_KIND_ALERT   ? "alert"
                                : a->kind == TDM_KIND_CLOSED  ? "closed"
                                                              : "overdue_warning");
        td_log_info("alert %s (%s, rule %s) to %s", a->alert_id,
                    a->escalation                 ? "ESCALATED"
                    : a->kind == TDM_KIND_ALERT   ? "ALERT"
                    : a->kind == TDM_KIND_CLOSED  ? "CLOSED"
                                                  : "OVERDUE",
                    a->rule_id, topic);
    }
    return 0;
}

/* ------------------------------------------------------------ processing */

/* Dead-letter stages (tuodi.stage): the bytes are no record of the input's
 * schema; the record lacks or breaks what matchd needs; an outcome that
 * cannot apply (unknown alert, the two-person rule). */
#define TDM_STAGE_DECODE "decode"
#define TDM_STAGE_VALIDATE "validate"
#define TDM_STAGE_VERIFY "verify"
/* The reasons of an outcome whose id is not in the index: never raised here,
 * or closed so long ago that it left (tdm_prune.h). */
#define TDM_UNKNOWN_ALERT                                                                     \
    "unknown alert: not raised by this matchd, or closed more than store.closed_retention "  \
    "ago (by the stream clock) and pruned from the alert index"
#define TDM_UNKNOWN_SUSPECT                                                                   \
    "unknown suspect: not raised by this matchd, or resolved or closed more than "           \
    "store.closed_retention ago (by the stream clock) and pruned from the suspect index"

/* An input record that is not processed: logged where it is, counted, and
 * dead-lettered to its input's DLQ topic in the open transaction, so that it
 * is there exactly once with the batch (in restore mode it was already: only
 * logged at debug level). The dead letter is the record's key and value as
 * read, with the connectors' headers (docs/matchd-design.md, "Dead
 * letters"); identity numbers in reason are masked. A record of the clock
 * topic has no DLQ: logged and counted only. */
static int tdm_reject(tdm_engine *e, int in, const rd_kafka_message_t *m, bool restore,
                      const char *stage, const char *reason, td_error *err)
{
    const char *topic = tdm_dlq_topic(e, in);
    rd_kafka_headers_t *h;
    char num[32], masked[1024];
    const void *key = m->key;
    size_t key_len = m->key_len, len = m->len, fixed;

    snprintf(masked, sizeof(masked), "%s", reason && *reason ? reason : "rejected");
    td_log_redact(masked);
    if (restore) {
        td_log_debug("%s [%" PRId32 "] @%" PRId64 ": rejected again while restoring (%s)",
                     rd_kafka_topic_name(m->rkt), m->partition, m->offset, masked);
        return 0;
    }
    if (!topic) {
        td_log_warning("%s [%" PRId32 "] @%" PRId64 ": skipped (%s): %s",
                       rd_kafka_topic_name(m->rkt), m->partition, m->offset, stage, masked);
        e->n_skipped++;
        return 0;
    }
    td_log_warning("%s [%" PRId32 "] @%" PRId64 ": rejected (%s): %s; dead letter to %s",
                   rd_kafka_topic_name(m->rkt), m->partition, m->offset, stage, masked, topic);
    h = rd_kafka_headers_new(8);
    rd_kafka_header_add(h, "tuodi.matchd", -1, e->instance, -1);
    rd_kafka_header_add(h, "tuodi.dataset", -1, tdm_in_name[in], -1);
    rd_kafka_header_add(h, "tuodi.topic", -1, rd_kafka_topic_name(m->rkt), -1);
    snprintf(num, sizeof(num), "%" PRId32, m->partition);
    rd_kafka_header_add(h, "tuodi.partition", -1, num, -1);
    snprintf(num, sizeof(num), "%" PRId64, m->offset);
    rd_kafka_header_add(h, "tuodi.offset", -1, num, -1);
    rd_kafka_header_add(h, "tuodi.reason", -1, masked, -1);
    rd_kafka_header_add(h, "tuodi.stage", -1, stage, -1);
    snprintf(num, sizeof(num), "%zu", m->len);
    rd_kafka_header_add(h, "tuodi.source_bytes", -1, num, -1);
    /* A record near the size limit does not fit with the headers: it is cut
     * (its key dropped if even that is too long), as the connector does,
     * rather than refused by Kafka at every retry of the batch. Room for
     * tuodi.truncated (1-byte lengths, "true") in every case. */
    fixed = td_kafka_message_size(0, 0, h) + 2 + strlen("tuodi.truncated") + 4;
    if (fixed + key_len > e->max_message) {
        key = NULL;
        key_len = 0;
    }
    if (fixed + key_len + len > e->max_message)
        len = e->max_message > fixed + key_len ? e->max_message - fixed - key_len : 0;
    if (key_len < m->key_len || len < m->len)
        rd_kafka_header_add(h, "tuodi.truncated", -1, "true", -1);
    e->n_rejected++;
    tdm_metrics_dead_letter(e->mx, in);
    return tdm_produce(e, topic, key, key_len, m->payload, len, h, 0, 0, err);
}

/* A decoder's or an evaluation's failure on a record: out of memory is the
 * daemon's (fatal, the batch aborts), anything else the record's. */
static int tdm_reject_or_fail(tdm_engine *e, int in, const rd_kafka_message_t *m, bool restore,
                              const char *stage, int rc, const td_error *why, td_error *err)
{
    if (rc == -ENOMEM)
        return td_error_set(err, rc, "%s [%" PRId32 "] @%" PRId64 ": out of memory",
                            rd_kafka_topic_name(m->rkt), m->partition, m->offset);
    return tdm_reject(e, in, m, restore, stage, why->msg[0] ? why->msg : strerror(-rc), err);
}

/* Before an evaluation of st: empties the alert list and keeps a copy of
 * the state, which tdm_eval_undo puts back when the evaluation fails
 * (tdm_eval.h: a failed evaluation may leave the state changed in part). */
static int tdm_eval_keep(tdm_engine *e, const tdm_dirty *st, tdm_window **ret, td_error *err)
{
    tdm_alert_list_reset(&e->alerts);
    *ret = tdm_window_copy(st->w);
    return *ret ? 0 : td_error_set(err, -ENOMEM, "out of memory");
}

static void tdm_eval_undo(tdm_dirty *st, tdm_window **backup)
{
    tdm_window_free(st->w);
    st->w = *backup;
    *backup = NULL;
}

/* The subject of person_key: household view (when on the roster) and state
 * key. */
static int tdm_find_subject(tdm_engine *e, const char *person_key, tdm_household *view,
                            bool *on_roster, char *key, size_t size, td_error *err)
{
    tdm_txn *txn = NULL;
    char hid[TDM_KEY_MAX];
    int r;

    *on_roster = false;
    r = tdm_wtxn(e, &txn, err);
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
    if (r == -ENOENT || r == -ERANGE || r == -EINVAL) {
        snprintf(key, size, "person:%s", person_key);
        return strlen(key) >= size - 1 ? td_error_set(err, -EINVAL, "person key too long") : 0;
    }
    return r;
}

/* The household view of a state key ("person:..." has none). */
static int tdm_view_of(tdm_engine *e, const char *key, tdm_household *view, bool *on_roster,
                       td_error *err)
{
    tdm_txn *txn = NULL;
    td_error e2 = {0};
    int r;

    *on_roster = false;
    if (strncmp(key, "person:", 7) == 0)
        return 0;
    r = tdm_wtxn(e, &txn, err);
    if (r < 0)
        return r;
    r = tdm_roster_get(e->roster, txn, key, view, &e2);
    *on_roster = r == 0;
    return 0;
}

/* ------------------------------------------- the suspicious-data list */

/* What tdm_suspect refused for a record (bad facts, limits): the record's
 * fault, not the daemon's; the text is in err. */
#define TDM_SUS_FAULT (-EPROTO)

/* Due-index key of the suspects state skey: the day, as tdm_due_key's, then
 * the state key. */
static size_t tdm_sus_due_key(int32_t due, const char *skey, unsigned char *buf, size_t size)
{
    return tdm_due_key(due, skey, buf, size);
}

/* The suspects state of key for the open batch (loaded from LMDB, or new
 * when create). -ENOENT when there is none and !create. Pointers into the
 * batch from before are stale after it. */
static int tdm_sus_get(tdm_engine *e, const char *key, bool create, tdm_dirty **ret,
                       td_error *err)
{
    tdm_txn *txn = NULL;
    const void *val;
    size_t len;
    tdm_dirty *d = NULL;
    int r = tdm_dirty_of(e, key, &d, err);

    if (r < 0)
        return r;
    if (!d->s) {
        r = tdm_wtxn(e, &txn, err);
        if (r < 0)
            return r;
        r = tdm_store_get(txn, e->db_sus, key, strlen(key), &val, &len, err);
        if (r == 0) {
            const unsigned char *b = val;
            if (len < 5)
                return td_error_set(err, -EIO, "state store: a bad suspects entry");
            d->s_due = (int32_t)((uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
                                 (uint32_t)b[3] << 24);
            r = tdm_suspects_decode(b + 4, len - 4, &d->s, err);
            if (r < 0)
                return td_error_prefix(err, r, "state store: the suspects of a subject: ");
            tdm_metrics_suspects_open(e->mx, tdm_suspects_open_count(d->s), TDM_METRICS_LOADED);
        } else if (r == -ENOENT && !create) {
            return -ENOENT;
        } else if (r == -ENOENT) {
            d->s = tdm_suspects_new();
            d->s_due = INT32_MAX;
            if (!d->s)
                return td_error_set(err, -ENOMEM, "out of memory");
        } else {
            return r;
        }
    }
    *ret = d;
    return 0;
}

/* tdm_sus_get for a state the operation at hand changes: its state before
 * is kept (once) so that tdm_sus_undo can put it back. */
static int tdm_sus_touch(tdm_engine *e, const char *key, bool create, tdm_dirty **ret,
                         td_error *err)
{
    tdm_dirty *d = NULL;
    tdm_sus_touched *t;
    int r = tdm_sus_get(e, key, create, &d, err);

    if (r < 0)
        return r;
    for (size_t i = 0; i < e->ntouched; i++)
        if (strcmp(e->touched[i].key, key) == 0) {
            *ret = d;
            return 0;
        }
    if (e->ntouched == e->touched_cap) {
        size_t cap = e->touched_cap ? e->touched_cap * 2 : 8;
        t = realloc(e->touched, cap * sizeof(*t));
        if (!t)
            return td_error_set(err, -ENOMEM, "out of memory");
        e->touched = t;
        e->touched_cap = cap;
    }
    t = &e->touched[e->ntouched];
    t->key = strdup(key);
    t->before = tdm_suspects_copy(d->s);
    if (!t->key || !t->before) {
        free(t->key);
        tdm_suspects_free(t->before);
        return td_error_set(err, -ENOMEM, "out of memory");
    }
    e->ntouched++;
    *ret = d;
    return 0;
}

static void tdm_sus_forget(tdm_engine *e)
{
    for (size_t i = 0; i < e->ntouched; i++) {
        free(e->touched[i].key);
        tdm_suspects_free(e->touched[i].before);
    }
    e->ntouched = 0;
}

/* The operation failed: its states go back to what they were before it
 * (tdm_suspect.h: a failed call may leave a state changed in part). */
static void tdm_sus_undo(tdm_engine *e)
{
    for (size_t i = 0; i < e->ntouched; i++) {
        tdm_dirty *d = NULL;
        if (tdm_dirty_of(e, e->touched[i].key, &d, NULL) == 0 && d->s) {
            tdm_suspects_free(d->s);
            d->s = e->touched[i].before;
            e->touched[i].before = NULL;
        }
    }
    tdm_sus_forget(e);
    tdm_suspect_list_reset(&e->suspects);
}

/* The operation succeeded: the due index follows its states (a household's
 * next due day, by the stream clock; a person off the roster is evaluated
 * only as part of a household, so never due). Written in the batch's LMDB
 * transaction at once, so that a new day within the same batch finds it. */
static int tdm_sus_done(tdm_engine *e, td_error *err)
{
    int32_t today = tdm_stream_day(e);
    int r = 0;

    for (size_t i = 0; i < e->ntouched && r == 0; i++) {
        tdm_dirty *d = NULL;
        tdm_txn *txn = NULL;
        unsigned char k[4 + TDM_KEY_MAX];
        int32_t due;
        size_t n;

        r = tdm_dirty_of(e, e->touched[i].key, &d, err);
        if (r < 0 || !d->s)
            break;
        due = strncmp(d->key, "person:", 7) == 0 ? INT32_MAX
                                                 : tdm_suspects_next_due(d->s, e->rules, today);
        if (due <= today) /* the contract says after today: never loop on a day */
            due = today + 1;
        if (due == d->s_due)
            continue;
        r = tdm_wtxn(e, &txn, err);
        if (r == 0 && d->s_due != INT32_MAX &&
            (n = tdm_sus_due_key(d->s_due, d->key, k, sizeof(k))) > 0) {
            r = tdm_store_del(txn, e->db_sus_due, k, n, err);
            if (r == -ENOENT)
                r = 0;
        }
        if (r == 0 && due != INT32_MAX && (n = tdm_sus_due_key(due, d->key, k, sizeof(k))) > 0)
            r = tdm_store_put(txn, e->db_sus_due, k, n, "", 0, err);
        if (r == 0)
            d->s_due = due;
    }
    tdm_sus_forget(e);
    return r;
}

/* Produces (unless restoring) the Suspect messages of the operation at hand
 * and indexes each RAISED one (suspect id -> state key NUL county), also
 * while restoring, so that its outcome finds it. */
static int tdm_sus_emit(tdm_engine *e, const char *state_key, bool restore, td_error *err)
{
    char topic[512];
    tdm_txn *txn = NULL;
    int r;

    for (size_t i = 0; i < e->suspects.n; i++) {
        const tdm_suspect_out *m = &e->suspects.v[i];
        /* unrouted (no valid village): "" here, the unrouted topic below */
        const char *county = m->route.routed ? m->route.county_code : "";
        const char *kind = m->kind == TDM_SUSPECT_RAISED     ? "raised"
                           : m->kind == TDM_SUSPECT_RESOLVED ? "resolved"
                                                             : "closed";
        if (m->kind == TDM_SUSPECT_RAISED) {
            size_t kl = strlen(state_key), cl = strlen(county);
            char v[TDM_KEY_MAX + 8];
            if (kl + 1 + cl > sizeof(v))
                return td_error_set(err, -EINVAL, "state key too long");
            memcpy(v, state_key, kl + 1);
            memcpy(v + kl + 1, county, cl);
            r = tdm_wtxn(e, &txn, err);
            if (r == 0)
                r = tdm_store_put(txn, e->db_sus_index, m->suspect_id, strlen(m->suspect_id), v,
                                  kl + 1 + cl, err);
            if (r < 0)
                return r;
        } else {
            /* resolved or closed: leaves the index after the retention */
            r = tdm_wtxn(e, &txn, err);
            if (r == 0)
                r = tdm_prune_note(txn, e->db_sus_closed, tdm_stream_day(e), m->suspect_id, err);
            if (r < 0)
                return td_error_prefix(err, r, "suspect %s: ", m->suspect_id);
        }
        if (restore)
            continue;
        avro_value_reset(&e->suspect_value);
        r = tdm_suspect_out_to_avro(m, e->instance, &e->suspect_value, err);
        if (r == 0)
            r = td_avro_encode(e->suspect_schema, &e->suspect_value, &e->buf, err);
        if (r < 0)
            return td_error_prefix(err, r, "suspect %s: ", m->suspect_id);
        if (strncmp(m->route.topic, TDM_SUSPECT_TOPIC_PREFIX,
                    strlen(TDM_SUSPECT_TOPIC_PREFIX)) != 0)
            return td_error_set(err, -EINVAL, "suspect %s: topic %s is not of %s",
                                m->suspect_id, m->route.topic, TDM_SUSPECT_TOPIC_PREFIX);
        snprintf(topic, sizeof(topic), "%s%s", e->cfg->topics.suspects_prefix,
                 m->route.topic + strlen(TDM_SUSPECT_TOPIC_PREFIX));
        r = tdm_produce(e, topic, m->route.key, strlen(m->route.key), e->buf.data, e->buf.len,
                        NULL, 0, 0, err);
        if (r < 0)
            return r;
        e->n_suspects++;
        (void)tdm_metrics_suspect(e->mx, m->indicator_id, county, kind);
        td_log_info("suspect %s (%s, indicator %s) to %s", m->suspect_id, kind, m->indicator_id,
                    topic);
    }
    tdm_suspect_list_reset(&e->suspects);
    return 0;
}

/* The other households listing each member of view (the duplicate_person
 * indicator). Owned strings; tdm_dups_done frees them. */
typedef struct tdm_dups {
    char **ids;
    size_t nids, cap;
    size_t *start, *n;
    const char *const **per;
    tdm_suspect_dups dups;
    bool any;
} tdm_dups;

typedef struct tdm_dups_add {
    tdm_dups *d;
    const char *self;
} tdm_dups_add;

static int tdm_dups_each(const char *hid, void *opaque)
{
    tdm_dups_add *a = opaque;
    tdm_dups *d = a->d;

    if (a->self && strcmp(hid, a->self) == 0)
        return 0;
    if (d->nids == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8;
        char **v = realloc(d->ids, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        d->ids = v;
        d->cap = cap;
    }
    d->ids[d->nids] = strdup(hid);
    if (!d->ids[d->nids])
        return -ENOMEM;
    d->nids++;
    return 0;
}

static void tdm_dups_done(tdm_dups *d)
{
    for (size_t i = 0; i < d->nids; i++)
        free(d->ids[i]);
    free(d->ids);
    free(d->start);
    free(d->n);
    free(d->per);
    memset(d, 0, sizeof(*d));
}

/* Fills d for household hid (view). */
static int tdm_dups_of(tdm_engine *e, const tdm_household *view, const char *hid, tdm_dups *d,
                       td_error *err)
{
    tdm_txn *txn = NULL;
    size_t nm = view->nmembers;
    int r = tdm_wtxn(e, &txn, err);

    memset(d, 0, sizeof(*d));
    if (r < 0)
        return r;
    d->start = calloc(nm + 1, sizeof(*d->start));
    d->n = calloc(nm + 1, sizeof(*d->n));
    d->per = calloc(nm + 1, sizeof(*d->per));
    if (!d->start || !d->n || !d->per)
        return td_error_set(err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < nm; i++) {
        tdm_dups_add a = {d, hid};
        d->start[i] = d->nids;
        r = tdm_roster_households_of(e->roster, txn, view->members[i].person_key, tdm_dups_each,
                                     &a, err);
        if (r == -ENOMEM)
            return td_error_set(err, r, "out of memory");
        if (r < 0)
            return r;
        d->n[i] = d->nids - d->start[i];
        d->any = d->any || d->n[i] > 0;
    }
    for (size_t i = 0; i < nm; i++)
        d->per[i] = d->n[i] ? (const char *const *)&d->ids[d->start[i]] : NULL;
    d->dups.other_household_ids = d->per;
    d->dups.n_other = d->n;
    return 0;
}

/* The day a trigger counts on: the later of the stream clock's day and the
 * record's own. */
static int32_t tdm_sus_today(const tdm_engine *e, int64_t at_ms)
{
    int32_t s = tdm_stream_day(e), r = tdm_eval_cst_day(at_ms);
    return r > s ? r : s;
}

/* Evaluates the suspects of roster household hid (view NULL: it left the
 * roster) for trigger, and produces what it says. */
static int tdm_sus_eval(tdm_engine *e, const char *hid, const tdm_household *view,
                        const tdm_suspect_trigger *trig, bool restore, td_error *err)
{
    tdm_dups dups;
    tdm_dirty *d = NULL;
    td_error e2 = {0};
    int r;

    memset(&dups, 0, sizeof(dups));
    if (view) {
        r = tdm_dups_of(e, view, hid, &dups, err);
        if (r < 0)
            goto out;
    }
    r = tdm_sus_touch(e, hid, view != NULL, &d, err);
    if (r == -ENOENT) { /* gone, and nothing was known of it */
        r = 0;
        goto out;
    }
    if (r < 0)
        goto out;
    r = tdm_suspects_eval(&e->ctx, view, dups.any ? &dups.dups : NULL,
                          tdm_sus_today(e, trig->at_ms), trig, d->s, &e->suspects, &e2);
    if (r < 0) {
        r = td_error_set(err, r == -ENOMEM ? r : TDM_SUS_FAULT, "suspects of household %s: %s",
                         hid, e2.msg[0] ? e2.msg : strerror(-r));
        goto out;
    }
    r = tdm_sus_emit(e, hid, restore, err);
out:
    tdm_dups_done(&dups);
    return r;
}

/* A department record of person_key (state key key; view: the household,
 * NULL off the roster): its facts noted, and the household evaluated when
 * one changed. */
static int tdm_sus_record(tdm_engine *e, tdm_dataset ds, const avro_value_t *value,
                          const tdm_coords *coords, const char *key, const tdm_household *view,
                          bool restore, td_error *err)
{
    tdm_dirty *d = NULL;
    td_error e2 = {0};
    bool changed = false;
    avro_value_t f;
    int32_t day = 0;
    int r;

    r = tdm_sus_touch(e, key, true, &d, err);
    if (r < 0)
        return r;
    r = tdm_suspects_note_record(d->s, ds, value, coords, &changed, &e2);
    if (r < 0)
        return td_error_set(err, r == -ENOMEM ? r : TDM_SUS_FAULT, "suspect facts: %s",
                            e2.msg[0] ? e2.msg : strerror(-r));
    if (!changed || !view)
        return 0;
    if (avro_value_get_by_name(value, "event_date", &f, NULL) != 0 ||
        avro_value_get_int(&f, &day) != 0)
        return td_error_set(err, TDM_SUS_FAULT, "suspect facts: no event_date");
    {
        tdm_suspect_trigger trig = {ds, coords, value, tdm_eval_cst_midnight_ms(day)};
        return tdm_sus_eval(e, key, view, &trig, restore, err);
    }
}

/* The suspect states that came due on a new stream day (a department fact
 * whose grace period ended: "death registered and still listed 30 days
 * later" without a new record): each evaluated with the tick as trigger, in
 * (due day, state key) order. A state that cannot be evaluated is logged
 * and kept as it was (it comes due again the next day). */
static int tdm_sus_due_scan(tdm_engine *e, int32_t today, bool restore, td_error *err)
{
    for (;;) {
        tdm_txn *txn = NULL;
        const void *k, *v;
        size_t klen, vlen;
        char skey[TDM_KEY_MAX];
        tdm_household view = TDM_HOUSEHOLD_INIT;
        bool on_roster = false;
        tdm_dirty *d = NULL;
        td_error e2 = {0};
        int32_t due;
        int r;

        r = tdm_wtxn(e, &txn, err);
        if (r < 0)
            return r;
        r = tdm_store_first(txn, e->db_sus_due, &k, &klen, &v, &vlen, err);
        if (r == -ENOENT)
            return 0;
        if (r < 0)
            return r;
        if (klen < 5 || klen - 4 >= sizeof(skey))
            return td_error_set(err, -EIO, "state store: a bad suspect due-index entry");
        {
            const unsigned char *b = k;
            uint32_t u = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
            due = (int32_t)(u ^ 0x80000000u);
        }
        if (due > today)
            return 0;
        memcpy(skey, (const char *)k + 4, klen - 4);
        skey[klen - 4] = '\0';
        r = tdm_store_del(txn, e->db_sus_due, k, klen, err);
        if (r == 0)
            r = tdm_sus_get(e, skey, false, &d, err);
        if (r == -ENOENT) /* a state that is gone: nothing to do */
            continue;
        if (r < 0)
            return r;
        d->s_due = INT32_MAX; /* its entry is gone */
        r = tdm_view_of(e, skey, &view, &on_roster, err);
        if (r == 0) {
            tdm_suspect_trigger trig = {TDM_DATASET_ANY, NULL, NULL,
                                        tdm_eval_cst_midnight_ms(today)};
            r = tdm_sus_eval(e, skey, on_roster ? &view : NULL, &trig, restore, &e2);
            if (r == TDM_SUS_FAULT) {
                td_log_error("%s; kept as it was, due again tomorrow", e2.msg);
                tdm_sus_undo(e);
                r = tdm_sus_touch(e, skey, false, &d, err); /* for its next due day */
            } else if (r < 0) {
                *err = e2;
                tdm_sus_undo(e);
            }
        }
        tdm_household_done(&view);
        if (r == 0)
            r = tdm_sus_done(e, err);
        if (r < 0)
            return r;
    }
}

/* Runs the suspect part of a record (fn over the open operation): on
 * success the due index follows; on a failure of the record (anything but
 * out of memory and the store's) its suspect states go back and the record
 * is dead-lettered with why (its alerts, produced already, stay). */
static int tdm_sus_finish(tdm_engine *e, int in, const rd_kafka_message_t *m, bool restore,
                          int rc, td_error *why, td_error *err)
{
    if (rc == 0)
        return tdm_sus_done(e, err);
    tdm_sus_undo(e);
    if (rc != TDM_SUS_FAULT) {
        *err = *why;
        return rc;
    }
    return tdm_reject(e, in, m, restore, TDM_STAGE_VALIDATE, why->msg, err);
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
    if (r < 0)
        return tdm_reject_or_fail(e, in, m, restore, TDM_STAGE_DECODE, r, &e2, err);
    if (tdm_get_string(value, "person_key", &person_key) < 0 || !person_key || !*person_key)
        return tdm_reject(e, in, m, restore, TDM_STAGE_VALIDATE, "no person_key", err);
    if (strlen(person_key) > 400)
        return tdm_reject(e, in, m, restore, TDM_STAGE_VALIDATE,
                          "person_key longer than 400 bytes", err);
    r = tdm_find_subject(e, person_key, &view, &on_roster, key, sizeof(key), err);
    if (r == 0)
        r = tdm_state(e, key, &st, err);
    if (r == 0)
        r = tdm_eval_keep(e, st, &backup, err);
    if (r < 0)
        goto out;
    uint64_t held = e->alerts.held_back;
    r = tdm_eval_record(&e->ctx, tdm_in_dataset[in], value, &coords, on_roster ? &view : NULL,
                        st->w, &e->alerts, &e2);
    if (r < 0) {
        tdm_eval_undo(st, &backup);
        r = tdm_reject_or_fail(e, in, m, restore, TDM_STAGE_VALIDATE, r, &e2, err);
        goto out;
    }
    if (!restore)
        e->batch_held_back += e->alerts.held_back - held;
    r = tdm_emit(e, key, restore, err);
    if (r == 0 && e->sus_on && (in == TDM_IN_CIVIL || in == TDM_IN_HR)) {
        td_error e3 = {0};
        int rc = tdm_sus_record(e, tdm_in_dataset[in], value, &coords, key,
                                on_roster ? &view : NULL, restore, &e3);
        r = tdm_sus_finish(e, in, m, restore, rc, &e3, err);
    }
out:
    tdm_window_free(backup);
    tdm_household_done(&view);
    return r;
}

/* The county of alert_id (6 digits, or "" when it is unrouted) into ret:
 * from the ALERT stored with the alert index, else from its open entry in
 * w. -ENOENT when neither knows it (a closed alert of an index from before
 * the ALERTs were kept: the evaluation then refuses the outcome anyway). */
static int tdm_alert_county_of(tdm_engine *e, const char *alert_id, const tdm_window *w,
                               char ret[7], td_error *err)
{
    tdm_txn *txn = NULL;
    const void *val;
    size_t len;
    const char *nul;
    const tdm_open_alert *oa;
    int r;

    r = tdm_wtxn(e, &txn, err);
    if (r == 0)
        r = tdm_store_get(txn, e->db_alerts, alert_id, strlen(alert_id), &val, &len, err);
    if (r < 0 && r != -ENOENT)
        return r;
    nul = r == 0 ? memchr(val, '\0', len) : NULL;
    if (nul && (size_t)(nul - (const char *)val) + 1 < len) {
        avro_value_t *orig = NULL, f, b;
        const char *s = NULL;
        size_t n = 0;
        td_error e2 = {0};
        if (td_avro_decode(e->alert_dec, nul + 1, len - (size_t)(nul + 1 - (const char *)val),
                           &orig, &e2) == 0 &&
            avro_value_get_by_name(orig, "county_code", &f, NULL) == 0 &&
            avro_value_get_current_branch(&f, &b) == 0) {
            if (avro_value_get_type(&b) == AVRO_NULL) {
                ret[0] = '\0';
                return 0;
            }
            if (avro_value_get_type(&b) == AVRO_STRING && avro_value_get_string(&b, &s, &n) == 0 &&
                n == 7) { /* 6 digits and the NUL */
                memcpy(ret, s, 7);
                return 0;
            }
        }
    }
    oa = tdm_window_find_alert(w, alert_id, NULL);
    if (!oa)
        return -ENOENT;
    if (oa->village_code[0]) {
        memcpy(ret, oa->village_code, 6);
        ret[6] = '\0';
    } else {
        ret[0] = '\0';
    }
    return 0;
}

/* True when the outcome's result is the symbol sym. */
static bool tdm_outcome_symbol_is(const avro_value_t *value, const char *sym)
{
    avro_value_t f;
    avro_schema_t sc;
    const char *name;
    int i;

    if (avro_value_get_by_name(value, "outcome", &f, NULL) != 0 ||
        avro_value_get_enum(&f, &i) != 0 || !(sc = avro_value_get_schema(&f)) ||
        !(name = avro_schema_enum_get(sc, i)))
        return false;
    return strcmp(name, sym) == 0;
}

/* An outcome for a suspect: found through the suspect index, checked
 * against the county of its topic as an alert's is, then applied by
 * tdm_suspects_outcome (DEPARTMENT_DATA_WRONG by two people closes it). */
static int tdm_process_sus_outcome(tdm_engine *e, const rd_kafka_message_t *m,
                                   const avro_value_t *value, const char *sus_id, bool restore,
                                   td_error *err)
{
    tdm_txn *txn = NULL;
    tdm_household view = TDM_HOUSEHOLD_INIT;
    bool on_roster = false;
    char key[TDM_KEY_MAX], county[7], why[512];
    const void *val;
    const char *nul;
    size_t len, kl;
    tdm_dirty *d = NULL;
    td_error e2 = {0};
    int r;

    r = tdm_wtxn(e, &txn, err);
    if (r < 0)
        return r;
    r = strlen(sus_id) <= TDM_SUSPECT_ID_MAX
            ? tdm_store_get(txn, e->db_sus_index, sus_id, strlen(sus_id), &val, &len, err)
            : -ENOENT;
    if (r == -ENOENT)
        return tdm_reject(e, TDM_IN_VERIFY, m, restore, TDM_STAGE_VERIFY, TDM_UNKNOWN_SUSPECT, err);
    if (r < 0)
        return r;
    nul = memchr(val, '\0', len);
    kl = nul ? (size_t)(nul - (const char *)val) : len;
    if (kl >= sizeof(key) || !nul || len - kl - 1 >= sizeof(county))
        return td_error_set(err, -EIO, "state store: a bad suspect-index entry");
    memcpy(key, val, kl);
    key[kl] = '\0';
    memcpy(county, nul + 1, len - kl - 1);
    county[len - kl - 1] = '\0';
    /* a county's topic closes only that county's suspects, as for alerts */
    if (tdm_alert_outcome_check(e->cfg->topics.verifications_prefix, rd_kafka_topic_name(m->rkt),
                                county, why, sizeof(why)) < 0)
        return tdm_reject(e, TDM_IN_VERIFY, m, restore, TDM_STAGE_VERIFY, why, err);
    r = tdm_view_of(e, key, &view, &on_roster, err);
    if (r == 0)
        r = tdm_sus_touch(e, key, false, &d, err);
    if (r == -ENOENT) {
        r = tdm_reject(e, TDM_IN_VERIFY, m, restore, TDM_STAGE_VERIFY, TDM_UNKNOWN_SUSPECT, err);
        goto out;
    }
    if (r < 0)
        goto out;
    r = tdm_suspects_outcome(&e->ctx, value, on_roster ? &view : NULL, d->s, &e->suspects, &e2);
    if (r == -ENOMEM) {
        r = td_error_set(err, r, "out of memory");
        goto out;
    }
    if (r < 0) {
        tdm_sus_undo(e);
        r = tdm_reject(e, TDM_IN_VERIFY, m, restore, TDM_STAGE_VERIFY,
                       e2.msg[0] ? e2.msg : strerror(-r), err);
        goto out;
    }
    r = tdm_sus_emit(e, key, restore, err);
    if (r == 0)
        r = tdm_sus_done(e, err);
out:
    if (r < 0)
        tdm_sus_undo(e);
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
    if (r < 0)
        return tdm_reject_or_fail(e, TDM_IN_VERIFY, m, restore, TDM_STAGE_DECODE, r, &e2, err);
    if (tdm_get_string(value, "alert_id", &alert_id) < 0)
        return tdm_reject(e, TDM_IN_VERIFY, m, restore, TDM_STAGE_VALIDATE, "no alert_id", err);
    if (tdm_suspect_id_is(alert_id))
        return tdm_process_sus_outcome(e, m, value, alert_id, restore, err);
    if (tdm_outcome_symbol_is(value, "DEPARTMENT_DATA_WRONG"))
        return tdm_reject(e, TDM_IN_VERIFY, m, restore, TDM_STAGE_VERIFY,
                          "DEPARTMENT_DATA_WRONG is an outcome for a suspect (an id starting "
                          "with sus-), not for an alert: record what the visit found about "
                          "the alert", err);
    r = tdm_idx_find(e, alert_id, key, sizeof(key), err);
    if (r == -ENOENT)
        return tdm_reject(e, TDM_IN_VERIFY, m, restore, TDM_STAGE_VERIFY, TDM_UNKNOWN_ALERT, err);
    if (r == 0)
        r = tdm_view_of(e, key, &view, &on_roster, err);
    if (r == 0)
        r = tdm_state(e, key, &st, err);
    if (r < 0)
        goto out;
    /* Defence in depth behind the ACLs: a county's topic closes only that
     * county's alerts (docs/matchd-design.md, "Outcomes per county"). */
    {
        char county[7], why[512];
        r = tdm_alert_county_of(e, alert_id, st->w, county, err);
        if (r == 0 && tdm_alert_outcome_check(e->cfg->topics.verifications_prefix,
                                              rd_kafka_topic_name(m->rkt), county, why,
                                              sizeof(why)) < 0) {
            r = tdm_reject(e, TDM_IN_VERIFY, m, restore, TDM_STAGE_VERIFY, why, err);
            goto out;
        }
        if (r < 0 && r != -ENOENT)
            goto out;
    }
    r = tdm_eval_keep(e, st, &backup, err);
    if (r < 0)
        goto out;
    memset(&e2, 0, sizeof(e2));
    r = tdm_eval_outcome(&e->ctx, value, on_roster ? &view : NULL,
                         on_roster ? NULL : (strncmp(key, "person:", 7) == 0 ? key + 7 : key),
                         st->w, &e->alerts, &e2);
    if (r < 0) {
        tdm_eval_undo(st, &backup);
        r = tdm_reject_or_fail(e, TDM_IN_VERIFY, m, restore, TDM_STAGE_VERIFY, r, &e2, err);
        goto out;
    }
    r = tdm_emit(e, key, restore, err);
out:
    tdm_window_free(backup);
    tdm_household_done(&view);
    return r;
}

/* The roster households that list one of keys[0..n) besides hid, sorted,
 * each once, into d->ids. */
static int tdm_sus_others(tdm_engine *e, const char *const *keys, size_t n, const char *hid,
                          tdm_dups *d, td_error *err)
{
    tdm_txn *txn = NULL;
    size_t w = 0;
    int r = tdm_wtxn(e, &txn, err);

    for (size_t i = 0; i < n && r == 0; i++) {
        tdm_dups_add a = {d, hid};
        r = tdm_roster_households_of(e->roster, txn, keys[i], tdm_dups_each, &a, err);
        if (r == -ENOMEM)
            r = td_error_set(err, r, "out of memory");
    }
    if (r < 0)
        return r;
    if (d->nids > 1)
        qsort(d->ids, d->nids, sizeof(*d->ids), tdm_strp_cmp);
    for (size_t i = 0; i < d->nids; i++) {
        if (w > 0 && strcmp(d->ids[w - 1], d->ids[i]) == 0) {
            free(d->ids[i]);
            continue;
        }
        d->ids[w++] = d->ids[i];
    }
    d->nids = w;
    return 0;
}

/* The suspect part of a roster record for household hid (view NULL: a
 * tombstone): the facts of members first seen off the roster move in, the
 * household is evaluated, then every other household that lists one of its
 * members, before (old_keys) or now (a duplicate person raised or resolved
 * on both sides), with this record as trigger. */
static int tdm_sus_roster(tdm_engine *e, const rd_kafka_message_t *m, const char *hid,
                          const tdm_household *view, const avro_value_t *value,
                          char *const *old_keys, size_t n_old, bool restore, td_error *err)
{
    tdm_coords coords = {rd_kafka_topic_name(m->rkt), m->partition, m->offset};
    tdm_suspect_trigger trig = {TDM_DATASET_HOUSEHOLD, &coords, value, 0};
    tdm_household gv = TDM_HOUSEHOLD_INIT;
    tdm_dups others;
    const char **keys = NULL;
    size_t nk = 0;
    char pkey[TDM_KEY_MAX];
    int r = 0;

    memset(&others, 0, sizeof(others));
    if (view) {
        trig.at_ms = view->updated_at;
    } else {
        rd_kafka_timestamp_type_t tt;
        int64_t ts = rd_kafka_message_timestamp(m, &tt);
        trig.at_ms = ts > 0 ? ts : e->stream_ms;
    }
    for (size_t i = 0; view && i < view->nmembers && r == 0; i++) {
        tdm_dirty *pd = NULL, *hd = NULL;
        size_t pi;
        const char *pk = view->members[i].person_key;
        if (!pk || strlen(pk) + 8 > sizeof(pkey))
            continue;
        snprintf(pkey, sizeof(pkey), "person:%s", pk);
        r = tdm_sus_touch(e, pkey, false, &pd, err);
        if (r == -ENOENT) {
            r = 0;
            continue;
        }
        if (r < 0)
            break;
        pi = (size_t)(pd - e->dirty);
        r = tdm_sus_touch(e, hid, true, &hd, err);
        if (r < 0)
            break;
        pd = &e->dirty[pi]; /* the array may have moved */
        {
            td_error e2 = {0};
            r = tdm_suspects_absorb(hd->s, pd->s, &e2);
            if (r < 0)
                r = td_error_set(err, r == -ENOMEM ? r : TDM_SUS_FAULT,
                                 "household %s: taking over a member's department facts: %s",
                                 hid, e2.msg[0] ? e2.msg : strerror(-r));
            else
                r = 0;
        }
    }
    if (r == 0)
        r = tdm_sus_eval(e, hid, view, &trig, restore, err);
    if (r < 0)
        goto out;
    /* the households sharing a member, before or now */
    keys = calloc(n_old + (view ? view->nmembers : 0) + 1, sizeof(*keys));
    if (!keys) {
        r = td_error_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n_old; i++)
        keys[nk++] = old_keys[i];
    for (size_t i = 0; view && i < view->nmembers; i++)
        if (view->members[i].person_key)
            keys[nk++] = view->members[i].person_key;
    r = tdm_sus_others(e, keys, nk, hid, &others, err);
    for (size_t i = 0; i < others.nids && r == 0; i++) {
        tdm_txn *txn = NULL;
        td_error e2 = {0};
        r = tdm_wtxn(e, &txn, err);
        if (r == 0)
            r = tdm_roster_get(e->roster, txn, others.ids[i], &gv, &e2);
        if (r == -ENOENT) {
            r = 0;
            continue;
        }
        if (r < 0) {
            r = td_error_set(err, r, "%s", e2.msg);
            break;
        }
        r = tdm_sus_eval(e, others.ids[i], &gv, &trig, restore, err);
    }
out:
    free(keys);
    tdm_dups_done(&others);
    tdm_household_done(&gv);
    return r;
}

/* The person keys of household hid as the index has it now (before a
 * record replaces it), strdup'd into *ret (none: *ret NULL). */
static int tdm_roster_keys(tdm_engine *e, tdm_txn *txn, const char *hid, char ***ret,
                           size_t *ret_n, td_error *err)
{
    tdm_household old = TDM_HOUSEHOLD_INIT;
    td_error e2 = {0};
    char **v;
    int r = tdm_roster_get(e->roster, txn, hid, &old, &e2);

    *ret = NULL;
    *ret_n = 0;
    if (r < 0) {
        tdm_household_done(&old);
        return r == -ENOMEM ? td_error_set(err, r, "out of memory") : 0;
    }
    v = calloc(old.nmembers + 1, sizeof(*v));
    for (size_t i = 0; v && i < old.nmembers; i++)
        if (old.members[i].person_key && !(v[(*ret_n)++] = strdup(old.members[i].person_key))) {
            for (size_t j = 0; j < *ret_n; j++)
                free(v[j]);
            free(v);
            v = NULL;
        }
    tdm_household_done(&old);
    if (!v) {
        *ret_n = 0;
        return td_error_set(err, -ENOMEM, "out of memory");
    }
    *ret = v;
    return 0;
}

/* A roster record: the index first (an update replaces the household, a
 * tombstone removes it), then the household rules (income below the line)
 * on the new version, then the suspects (tdm_sus_roster). */
static int tdm_process_roster(tdm_engine *e, const rd_kafka_message_t *m, bool restore,
                              td_error *err)
{
    tdm_txn *txn = NULL;
    tdm_household view = TDM_HOUSEHOLD_INIT;
    tdm_coords coords = {rd_kafka_topic_name(m->rkt), m->partition, m->offset};
    char key[TDM_KEY_MAX];
    tdm_dirty *st = NULL;
    tdm_window *backup = NULL;
    avro_value_t *v = NULL;
    char **old_keys = NULL;
    size_t n_old = 0;
    td_error e2 = {0};
    int r;

    if (!m->key || m->key_len == 0)
        return tdm_reject(e, TDM_IN_ROSTER, m, restore, TDM_STAGE_VALIDATE,
                          "no household id (the record has no key)", err);
    if (m->key_len >= sizeof(key))
        return tdm_reject(e, TDM_IN_ROSTER, m, restore, TDM_STAGE_VALIDATE,
                          "household id (the key) too long", err);
    if (m->payload) {
        r = td_avro_decode(e->hh_dec, m->payload, m->len, &v, &e2);
        if (r < 0)
            return tdm_reject_or_fail(e, TDM_IN_ROSTER, m, restore, TDM_STAGE_DECODE, r, &e2,
                                      err);
    }
    memcpy(key, m->key, m->key_len);
    key[m->key_len] = '\0';
    r = tdm_wtxn(e, &txn, err);
    if (r < 0)
        return r;
    if (e->sus_on && strlen(key) == m->key_len) {
        r = tdm_roster_keys(e, txn, key, &old_keys, &n_old, err);
        if (r < 0)
            return r;
    }
    r = tdm_roster_apply(e->roster, txn, m->key, m->key_len, m->payload, m->len, &e2);
    if (r == -EINVAL || r == -EBADMSG) { /* a bad record that apply refused before writing */
        r = tdm_reject(e, TDM_IN_ROSTER, m, restore, TDM_STAGE_VALIDATE, e2.msg, err);
        goto out;
    }
    if (r < 0) {
        r = td_error_set(err, r, "%s", e2.msg);
        goto out;
    }
    e->n_roster++;
    if (m->payload) {
        r = tdm_roster_get(e->roster, txn, key, &view, err);
        if (r == 0)
            r = tdm_absorb_members(e, &view, key, err);
        if (r == 0)
            r = tdm_state(e, key, &st, err);
        if (r == 0)
            r = tdm_eval_keep(e, st, &backup, err);
        if (r < 0)
            goto out;
        memset(&e2, 0, sizeof(e2));
        r = tdm_eval_household(&e->ctx, &view, &coords, st->w, &e->alerts, &e2);
        if (r < 0) {
            /* the index has the household (a valid record); its rules could not
             * be evaluated: the record is dead-lettered with why */
            tdm_eval_undo(st, &backup);
            r = tdm_reject_or_fail(e, TDM_IN_ROSTER, m, restore, TDM_STAGE_VALIDATE, r, &e2,
                                   err);
            goto out;
        }
        r = tdm_emit(e, key, restore, err);
    }
    if (r == 0 && e->sus_on) {
        td_error e3 = {0};
        int rc = tdm_sus_roster(e, m, key, m->payload ? &view : NULL, v, old_keys, n_old,
                                restore, &e3);
        r = tdm_sus_finish(e, TDM_IN_ROSTER, m, restore, rc, &e3, err);
    }
out:
    for (size_t i = 0; i < n_old; i++)
        free(old_keys[i]);
    free(old_keys);
    tdm_window_free(backup);
    tdm_household_done(&view);
    return r;
}

/* The orange warnings of a new stream day: every alert in the due index
 * whose visit was due before today (in due-day, alert-id order). */
static int tdm_overdue_scan(tdm_engine *e, int32_t today, bool restore, td_error *err)
{
    for (;;) {
        tdm_txn *txn = NULL;
        const void *k, *v;
        size_t klen, vlen;
        unsigned char dkey[4 + TDM_ALERT_ID_MAX + 1];
        char skey[TDM_KEY_MAX];
        tdm_household view = TDM_HOUSEHOLD_INIT;
        bool on_roster = false;
        tdm_dirty *st = NULL;
        td_error e2 = {0};
        int32_t due;
        int r;

        r = tdm_wtxn(e, &txn, err);
        if (r < 0)
            return r;
        r = tdm_store_first(txn, e->db_due, &k, &klen, &v, &vlen, err);
        if (r == -ENOENT)
            return 0;
        if (r < 0)
            return r;
        if (klen < 4 || klen > sizeof(dkey) || vlen >= sizeof(skey))
            return td_error_set(err, -EIO, "state store: a bad due-index entry");
        {
            const unsigned char *b = k;
            uint32_t u = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
            due = (int32_t)(u ^ 0x80000000u);
        }
        if (due >= today)
            return 0;
        memcpy(dkey, k, klen);
        memcpy(skey, v, vlen);
        skey[vlen] = '\0';
        r = tdm_store_del(txn, e->db_due, dkey, klen, err);
        if (r == 0)
            r = tdm_view_of(e, skey, &view, &on_roster, err);
        if (r == 0)
            r = tdm_state(e, skey, &st, err);
        if (r == 0) {
            tdm_alert_list_reset(&e->alerts);
            r = tdm_eval_overdue(&e->ctx, st->w, today, on_roster ? &view : NULL,
                                 on_roster ? NULL
                                           : (strncmp(skey, "person:", 7) == 0 ? skey + 7 : skey),
                                 &e->alerts, &e2);
            if (r < 0)
                r = td_error_set(err, r, "overdue warnings: %s", e2.msg);
        }
        if (r == 0)
            r = tdm_emit(e, skey, restore, err);
        tdm_household_done(&view);
        if (r < 0)
            return r;
    }
}

/* A new stream day bounds the state (docs/matchd-design.md, "Size of the
 * state"): alerts and suspects closed store.closed_retention before today
 * leave their indexes, and every state whose window is spent by today is
 * loaded (and so expired): tdm_store_batch deletes it, or indexes it again
 * when something is left. In the batch's LMDB transaction, driven by the
 * stream clock only, so a restore of the same records does the same. */
static int tdm_bound_state(tdm_engine *e, int32_t today, td_error *err)
{
    tdm_txn *txn = NULL;
    size_t n = 0;
    int r = tdm_wtxn(e, &txn, err);

    if (r == 0)
        r = tdm_prune_run(txn, e->db_alerts_closed, e->db_alerts, today,
                          e->closed_retention_days, &n, err);
    if (r == 0 && n)
        td_log_debug("pruned %zu closed alerts from the alert index", n);
    if (r == 0)
        r = tdm_prune_run(txn, e->db_sus_closed, e->db_sus_index, today,
                          e->closed_retention_days, &n, err);
    if (r == 0 && n)
        td_log_debug("pruned %zu closed suspects from the suspect index", n);
    while (r == 0) {
        unsigned char key[4 + TDM_KEY_MAX];
        char skey[TDM_KEY_MAX];
        const void *k, *v;
        size_t klen, vlen;
        tdm_dirty *d = NULL;
        int32_t day;

        r = tdm_wtxn(e, &txn, err);
        if (r == 0)
            r = tdm_store_first(txn, e->db_spent, &k, &klen, &v, &vlen, err);
        if (r == -ENOENT)
            return 0;
        if (r < 0)
            break;
        if (klen <= 4 || klen - 4 >= sizeof(skey))
            return td_error_set(err, -EIO, "state store: a bad spent-index entry");
        memcpy(key, k, klen);
        day = (int32_t)(((uint32_t)key[0] << 24 | (uint32_t)key[1] << 16 |
                         (uint32_t)key[2] << 8 | key[3]) ^ 0x80000000u);
        if (day > today)
            return 0;
        memcpy(skey, key + 4, klen - 4);
        skey[klen - 4] = '\0';
        r = tdm_store_del(txn, e->db_spent, key, klen, err);
        if (r == 0)
            r = tdm_state_get(e, skey, false, &d, err);
        if (r == -ENOENT) {
            r = 0;
            continue;
        }
        if (r == 0 && d->w_spent == day)
            d->w_spent = INT32_MAX; /* its entry is the one just deleted */
    }
    return r;
}

/* Moves the stream clock to ts (never back); a new CST day sends the
 * overdue warnings first. */
static int tdm_clock_advance(tdm_engine *e, int64_t ts, bool restore, td_error *err)
{
    int32_t before;

    if (ts <= e->stream_ms)
        return 0;
    before = e->stream_ms > 0 ? tdm_stream_day(e) : INT32_MIN;
    e->stream_ms = ts;
    if (tdm_stream_day(e) > before) {
        int r = tdm_overdue_scan(e, tdm_stream_day(e), restore, err);
        if (r == 0 && e->sus_on)
            r = tdm_sus_due_scan(e, tdm_stream_day(e), restore, err);
        if (r == 0)
            r = tdm_bound_state(e, tdm_stream_day(e), err);
        return r;
    }
    return 0;
}

/* The input topics of fixed names, indexed by TDM_IN_*. TDM_IN_VERIFY is
 * NULL: the outcomes come on one topic per county, subscribed to by a regex
 * (tdm_start_consumer) and recognised by tdm_input_of. */
static void tdm_input_topics(const tdm_engine *e, const char *ret[TDM_IN_COUNT])
{
    const tdm_topics_config *t = &e->cfg->topics;
    ret[TDM_IN_ROSTER] = t->roster;
    ret[TDM_IN_CLOCK] = t->clock;
    ret[TDM_IN_MEDICAL] = t->medical;
    ret[TDM_IN_CIVIL] = t->civil;
    ret[TDM_IN_HR] = t->hr;
    ret[TDM_IN_VERIFY] = NULL;
}

/* The input a topic is (TDM_IN_*), or -1. */
static int tdm_input_of(const tdm_engine *e, const char *topic)
{
    const char *topics[TDM_IN_COUNT];
    char county[TDM_OUTCOME_COUNTY_BUFSZ];

    tdm_input_topics(e, topics);
    for (int i = 0; i < TDM_IN_COUNT; i++)
        if (topics[i] && strcmp(topic, topics[i]) == 0)
            return i;
    if (tdm_alert_outcome_county(e->cfg->topics.verifications_prefix, topic, county) == 0)
        return TDM_IN_VERIFY;
    return -1;
}

/* Processes the head record of p. */
static int tdm_process(tdm_engine *e, tdm_part *p, td_error *err)
{
    const rd_kafka_message_t *m = tdm_part_head(p);
    bool restore = p->restore_end >= 0 && m->offset < p->restore_end;
    rd_kafka_timestamp_type_t tt;
    int64_t ts = rd_kafka_message_timestamp(m, &tt);
    int r;

    td_log_debug("%s [%" PRId32 "] @%" PRId64 " ts %" PRId64 "%s", p->topic, m->partition,
                 m->offset, ts, restore ? " (restore)" : "");
    r = tdm_clock_advance(e, ts, restore, err);
    if (r < 0)
        return r;
    e->ctx.today = tdm_stream_day(e); /* the push day of what this record raises */
    switch (p->in) {
    case TDM_IN_ROSTER:
        r = tdm_process_roster(e, m, restore, err);
        break;
    case TDM_IN_CLOCK: {
        /* A tick carries its time in the value (decimal ms; a tick may be
         * ahead of its own timestamp: an operator's or a test's clock). */
        char v[24];
        char *end = NULL;
        long long t;
        if (m->payload && m->len > 0 && m->len < sizeof(v)) {
            memcpy(v, m->payload, m->len);
            v[m->len] = '\0';
            t = strtoll(v, &end, 10);
            if (end && *end == '\0' && t > 0) {
                r = tdm_clock_advance(e, (int64_t)t, restore, err);
                break;
            }
        }
        r = tdm_reject(e, TDM_IN_CLOCK, m, restore, TDM_STAGE_DECODE,
                       "a tick's value is not a time (decimal ms since 1970)", err);
        break;
    }
    case TDM_IN_VERIFY: {
        uint64_t rejected = e->n_rejected;
        r = tdm_process_outcome(e, m, restore, err);
        if (r == 0 && !restore)
            tdm_metrics_outcome(e->mx, e->n_rejected == rejected);
        break;
    }
    default:
        r = tdm_process_record(e, p->in, m, restore, err);
        break;
    }
    if (r < 0)
        return r;
    /* the record's place in the batch: its partition's manifest */
    if (e->batch_records > (int64_t)UINT32_MAX ||
        tdm_manifest_add(&p->man, (uint32_t)e->batch_records) < 0)
        return td_error_set(err, -ENOMEM, "out of memory (batch manifest)");
    if (p->man.len > TDM_MANIFEST_SOFT_MAX)
        e->batch_full = true; /* commit before the text nears the broker's limit */
    if (ts < 0)
        ts = 0; /* as the merge orders it (tdm_ts) */
    if (e->batch_records > 0 &&
        (ts < e->last_ts || (ts == e->last_ts && (p->in < e->last_in ||
                                                  (p->in == e->last_in &&
                                                   m->partition < e->last_partition)))))
        e->batch_reordered = true;
    e->last_ts = ts;
    e->last_in = p->in;
    e->last_partition = m->partition;
    if (e->batch_records++ == 0)
        e->batch_started_ms = td_time_mono_ms();
    e->n_records++;
    tdm_metrics_record(e->mx, p->in);
    p->next = m->offset + 1;
    tdm_part_pop(p);
    if (p->qn == 0 && p->eof && p->eof_offset > p->next)
        p->next = p->eof_offset; /* past transaction markers */
    if (p->paused && p->qn <= TDM_BUF_LOW)
        tdm_part_pause(e, p, false);
    return 0;
}

/* ------------------------------------------------------------- the merge */

/* A restoring partition is done when it processed up to the committed
 * offset, or what comes next is at or past it (transaction markers), or it
 * is at its end. */
static void tdm_restore_check(tdm_engine *e)
{
    bool any = false;

    for (size_t i = 0; i < e->nparts; i++) {
        tdm_part *p = &e->parts[i];
        const rd_kafka_message_t *h = tdm_part_head(p);
        if (p->restore_end >= 0 &&
            (p->next >= p->restore_end || (h && h->offset >= p->restore_end) ||
             (!h && p->eof && p->eof_offset >= p->restore_end)))
            p->restore_end = -1;
        any = any || p->restore_end >= 0;
    }
    e->restoring = any;
    if (any)
        e->restore_started = true;
}

static int tdm_assign_all(tdm_engine *e);
static int tdm_replay_abandon(tdm_engine *e, td_error *err);

/* After a restore the restored states go to LMDB only: their alerts were
 * committed to Kafka before the crash. */
static int tdm_restore_progress(tdm_engine *e, td_error *err)
{
    int r;

    if (!e->restoring)
        return 0;
    tdm_restore_check(e);
    if (e->replay && !e->restoring && (size_t)e->batch_records != e->replay_n)
        snprintf(e->replay_bad, sizeof(e->replay_bad),
                 "the topics hold %" PRId64 " records below the committed offsets, the "
                 "manifests %zu", e->batch_records, e->replay_n);
    if (e->replay_bad[0])
        return tdm_replay_abandon(e, err);
    if (e->restoring || !e->restore_started)
        return 0;
    r = tdm_store_batch(e, err);
    if (r < 0)
        return r;
    e->restore_started = false;
    td_log_notice("restore done: the state is back where Kafka's commit is%s",
                  e->replay ? " (replayed in the batch manifest's order)" : "");
    free(e->replay);
    e->replay = NULL;
    e->replay_n = 0;
    return 0;
}

/* Replaying a batch by its manifests (tdm_on_assign). */
static bool tdm_replaying(const tdm_engine *e)
{
    return e->restoring && e->replay;
}

/* The partition whose record comes next in the replayed batch; NULL: wait,
 * or (e->replay_bad set) the topics do not hold what the manifests say. */
static tdm_part *tdm_replay_pick(tdm_engine *e)
{
    if ((size_t)e->batch_records < e->replay_n) {
        tdm_part *p = &e->parts[e->replay[e->batch_records]];
        const rd_kafka_message_t *h = tdm_part_head(p);
        if (p->restore_end < 0 || (h && h->offset >= p->restore_end))
            snprintf(e->replay_bad, sizeof(e->replay_bad),
                     "%s [%" PRId32 "]: its manifest has more records than the topic holds "
                     "below the committed offset", p->topic, p->partition);
        return e->replay_bad[0] || !h ? NULL : p;
    }
    /* all positions replayed: no partition may have more */
    for (size_t i = 0; i < e->nparts; i++) {
        const tdm_part *p = &e->parts[i];
        const rd_kafka_message_t *h = tdm_part_head(p);
        if (p->restore_end >= 0 && h && h->offset < p->restore_end)
            snprintf(e->replay_bad, sizeof(e->replay_bad),
                     "%s [%" PRId32 "]: the topic holds records below the committed offset "
                     "that its manifest does not list", p->topic, p->partition);
    }
    return NULL;
}

/* The replay found the topics otherwise than the manifests say: the batch
 * is dropped (nothing was produced: restore mode) and restored by the
 * merge from LMDB's offsets. */
static int tdm_replay_abandon(tdm_engine *e, td_error *err)
{
    td_log_notice("restore: %s: restoring by the merge instead (if live arrival reordered "
                  "that batch, the restored state can differ from its committed alerts)",
                  e->replay_bad);
    free(e->replay);
    e->replay = NULL;
    e->replay_n = 0;
    e->replay_bad[0] = '\0';
    tdm_batch_drop(e);
    if (tdm_assign_all(e) < 0)
        return td_error_set(err, -EIO, "%s", e->cb_err.msg);
    tdm_restore_check(e);
    return 0;
}

static int64_t tdm_ts(const rd_kafka_message_t *m)
{
    rd_kafka_timestamp_type_t tt;
    int64_t ts = rd_kafka_message_timestamp(m, &tt);
    return ts < 0 ? 0 : ts;
}

/* The partition whose head comes next: the smallest (timestamp, input,
 * partition) among the heads, once every partition has a head or is at its
 * end, so that the order depends on the inputs, not on fetch timing. While
 * restoring, only the restoring partitions take part. NULL: wait. */
static tdm_part *tdm_pick(tdm_engine *e)
{
    tdm_part *best = NULL;
    int64_t best_ts = 0;
    bool missing = false;

    if (tdm_replaying(e))
        return tdm_replay_pick(e);
    for (size_t i = 0; i < e->nparts; i++) {
        tdm_part *p = &e->parts[i];
        const rd_kafka_message_t *h = tdm_part_head(p);
        int64_t ts;
        if (e->restoring && p->restore_end < 0)
            continue;
        if (!h) {
            if (!p->eof)
                missing = true;
            continue;
        }
        ts = tdm_ts(h);
        if (!best || ts < best_ts || (ts == best_ts && (p->in < best->in ||
                                                        (p->in == best->in &&
                                                         p->partition < best->partition)))) {
            best = p;
            best_ts = ts;
        }
    }
    if (!missing) {
        e->wait_since_ms = 0;
        e->wait_logged = false;
        return best;
    }
    if (e->restoring || !best)
        return NULL;
    if (!e->wait_since_ms)
        e->wait_since_ms = td_time_mono_ms();
    if (td_time_mono_ms() - e->wait_since_ms < e->cfg->clock.max_idle_ms)
        return NULL;
    if (!e->wait_logged) {
        td_log_notice("a partition has had no data fetched for %" PRId64
                      " ms: merging without it (the order now depends on fetch timing)",
                      e->cfg->clock.max_idle_ms);
        e->wait_logged = true;
    }
    return best;
}

/* Takes one message from the consumer queue into its partition's buffer. */
static int tdm_receive(tdm_engine *e, rd_kafka_message_t *m, td_error *err)
{
    tdm_part *p;
    int64_t expect;

    if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
        char reason[512];
        rd_kafka_fatal_error(e->consumer, reason, sizeof(reason));
        rd_kafka_message_destroy(m);
        return td_error_set(err, -ENOTRECOVERABLE, "consumer: %s", reason);
    }
    if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        td_log_warning("consumer: %s", rd_kafka_message_errstr(m));
        rd_kafka_message_destroy(m);
        return 0;
    }
    p = m->rkt ? tdm_part_find(e, rd_kafka_topic_name(m->rkt), m->partition) : NULL;
    if (!p) {
        rd_kafka_message_destroy(m);
        return 0;
    }
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        p->eof = true;
        p->eof_offset = m->offset;
        if (p->qn == 0 && m->offset > p->next)
            p->next = m->offset; /* everything below is processed (or markers) */
        rd_kafka_message_destroy(m);
        return 0;
    }
    expect = p->qn ? p->q[(p->qhead + p->qn - 1) % p->qcap]->offset + 1 : p->next;
    if (expect >= 0 && m->offset < expect) { /* from before a rewind */
        rd_kafka_message_destroy(m);
        return 0;
    }
    if (tdm_part_push(p, m) < 0) {
        rd_kafka_message_destroy(m);
        return td_error_set(err, -ENOMEM, "out of memory");
    }
    p->eof = false;
    if (p->qn >= TDM_BUF_HIGH)
        tdm_part_pause(e, p, true);
    return 0;
}

/* ------------------------------------------------------ assignment, commit */

static int tdm_assign_all(tdm_engine *e)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)e->nparts + 1);
    rd_kafka_resp_err_t x;

    for (size_t i = 0; i < e->nparts; i++) {
        tdm_part *p = &e->parts[i];
        tdm_part_flush(p);
        p->next = p->base;
        p->paused = false;
        rd_kafka_topic_partition_list_add(l, p->topic, p->partition)->offset =
            p->base >= 0 ? p->base : RD_KAFKA_OFFSET_BEGINNING;
    }
    x = rd_kafka_assign(e->consumer, l);
    if (!x && l->cnt)
        rd_kafka_resume_partitions(e->consumer, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (x) {
        td_error_set(&e->cb_err, -EIO, "assign: %s", rd_kafka_err2str(x));
        return -EIO;
    }
    e->wait_since_ms = 0;
    return 0;
}

/* True when the assignment lacks partitions of the input topics (another
 * member holds them: typically a killed instance whose session has not
 * expired yet). Processing a part would change the merged order, so the
 * daemon holds until the group gives it everything; static membership
 * (group.instance.id) makes a restarted instance take over at once. */
static bool tdm_assignment_partial(tdm_engine *e)
{
    const struct rd_kafka_metadata *md = NULL;
    int total = 0;

    /* every topic the brokers show this user: the verification topics are
     * matched by name (a county's appears when it is created) */
    if (rd_kafka_metadata(e->consumer, 1, NULL, &md, 5000) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return false;
    for (int i = 0; i < md->topic_cnt; i++)
        if (md->topics[i].err == 0 && tdm_input_of(e, md->topics[i].topic) >= 0)
            total += md->topics[i].partition_cnt;
    rd_kafka_metadata_destroy(md);
    return (int)e->nparts < total;
}

/* ------------------------------------------------ start-up load progress */

/* After an assignment: which partitions the start-up load reads, from where
 * to where. A restoring partition up to its committed offset; while not
 * ready, a roster partition up to its end (the high watermark now). The
 * percent of tdm_load_progress is over these offsets (transaction markers
 * count as records: close enough for a progress line). */
static void tdm_load_begin(tdm_engine *e)
{
    e->loading = false;
    e->load_total = 0;
    for (size_t i = 0; i < e->nparts; i++) {
        tdm_part *p = &e->parts[i];
        int64_t lo = 0, hi = -1;

        p->load_from = p->load_to = -1;
        if (p->restore_end < 0 && (e->ready || p->in != TDM_IN_ROSTER))
            continue;
        if (rd_kafka_query_watermark_offsets(e->consumer, p->topic, p->partition, &lo, &hi,
                                             TDM_SLICE_MS) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            lo = 0;
            hi = -1; /* unknown: no percent for this partition */
        }
        p->load_from = p->base >= 0 ? p->base : lo;
        p->load_to = p->restore_end >= 0 ? p->restore_end : hi;
        if (p->load_to > p->load_from)
            e->load_total += p->load_to - p->load_from;
        else
            p->load_to = -1;
    }
    if (e->load_total > 0) {
        e->loading = true;
        e->load_started_ms = e->load_logged_ms = td_time_mono_ms();
    }
}

/* "about 3 min left" */
static void tdm_format_left(double secs, char *buf, size_t size)
{
    if (secs < 90)
        snprintf(buf, size, "about %.0f s left", secs < 1 ? 1 : secs);
    else if (secs < 5400)
        snprintf(buf, size, "about %.0f min left", secs / 60);
    else
        snprintf(buf, size, "about %.1f h left", secs / 3600);
}

/* While the start-up load runs: STATUS= with its progress (percent,
 * records/s, the time left) every call (td_notify_status sends only a
 * change; the loop calls once a second), and the same as a log line at
 * most every progress_interval. Returns false (and does nothing) when no
 * load runs: the caller's status applies. */
/* Offsets of the start-up load processed so far (of e->load_total). */
static int64_t tdm_load_done(const tdm_engine *e)
{
    int64_t done = 0;

    for (size_t i = 0; i < e->nparts; i++) {
        const tdm_part *p = &e->parts[i];
        int64_t d;

        if (p->load_to < 0 || p->next < 0)
            continue;
        d = p->next - p->load_from;
        done += d < 0 ? 0 : d > p->load_to - p->load_from ? p->load_to - p->load_from : d;
    }
    return done;
}

static bool tdm_load_progress(tdm_engine *e)
{
    int64_t done = 0, now = td_time_mono_ms(), ms;
    double rate, pct;
    char left[64], text[256];

    if (!e->loading)
        return false;
    if (e->ready && !e->restoring) {
        e->loading = false; /* the "ready" line says it is done */
        return false;
    }
    done = tdm_load_done(e);
    ms = now - e->load_started_ms;
    rate = ms > 0 ? (double)done * 1000.0 / (double)ms : 0;
    pct = (double)done * 100.0 / (double)e->load_total;
    if (rate > 0 && done * 100 >= e->load_total) /* from 1% on: a steadier rate */
        tdm_format_left((double)(e->load_total - done) / rate, left, sizeof(left));
    else
        snprintf(left, sizeof(left), "time left not known yet");
    snprintf(text, sizeof(text), "%s: %.0f%% (%" PRId64 " of %" PRId64 " records), %.0f records/s, %s",
             e->restoring ? "restoring the state" : "loading the roster", pct, done,
             e->load_total, rate, left);
    td_notify_status("%s", text);
    if (now - e->load_logged_ms >= e->cfg->progress_interval_ms) {
        td_log_notice("%s", text);
        e->load_logged_ms = now;
    }
    return true;
}

/* After an assignment that restores: the batch manifests of the restoring
 * partitions (their committed metadata) say in which order that batch was
 * processed. When each starts at LMDB's offset of its partition and
 * together they account for every position, e->replay gets the order and
 * the restore replays it; otherwise (a rebuild, a state of another
 * version, metadata that is not a manifest) the restore merges, with a
 * notice saying why. */
static void tdm_replay_plan(tdm_engine *e, const rd_kafka_topic_partition_list_t *parts)
{
    const tdm_manifest **mans = NULL;
    size_t *idx = NULL, n = 0, total = 0;
    uint32_t *order = NULL;
    char why[TD_ERROR_MSG_MAX + 200] = "";
    td_error err = {0};

    free(e->replay);
    e->replay = NULL;
    e->replay_n = 0;
    e->replay_bad[0] = '\0';
    for (size_t i = 0; i < e->nparts; i++)
        n += e->parts[i].restore_end >= 0;
    if (n == 0)
        return;
    mans = calloc(n, sizeof(*mans));
    idx = calloc(n, sizeof(*idx));
    if (!mans || !idx) {
        snprintf(why, sizeof(why), "out of memory");
        goto merge;
    }
    n = 0;
    for (size_t i = 0; i < e->nparts; i++) {
        tdm_part *p = &e->parts[i];
        const rd_kafka_topic_partition_t *tp;
        if (p->restore_end < 0)
            continue;
        tp = rd_kafka_topic_partition_list_find(parts, p->topic, p->partition);
        if (!tp || tdm_manifest_decode(tp->metadata, tp->metadata_size, &p->man, &err) < 0) {
            snprintf(why, sizeof(why), "%s [%" PRId32 "]: %s", p->topic, p->partition,
                     tp ? err.msg : "no committed offset");
            goto merge;
        }
        if (p->man.start != p->base) {
            snprintf(why, sizeof(why), "%s [%" PRId32 "]: the last batch started at %" PRId64
                     ", the state is at %" PRId64, p->topic, p->partition, p->man.start,
                     p->base);
            goto merge;
        }
        if (p->base >= 0 && p->man.records > (uint64_t)(p->restore_end - p->base)) {
            snprintf(why, sizeof(why), "%s [%" PRId32 "]: the manifest lists %" PRIu64
                     " records between offsets %" PRId64 " and %" PRId64, p->topic,
                     p->partition, p->man.records, p->base, p->restore_end);
            goto merge;
        }
        mans[n] = &p->man;
        idx[n++] = i;
    }
    if (tdm_manifest_plan(mans, n, &order, &total, &err) < 0) {
        snprintf(why, sizeof(why), "%s", err.msg);
        goto merge;
    }
    e->replay = malloc((total ? total : 1) * sizeof(*e->replay));
    if (!e->replay) {
        snprintf(why, sizeof(why), "out of memory");
        goto merge;
    }
    for (size_t k = 0; k < total; k++)
        e->replay[k] = idx[order[k]];
    e->replay_n = total;
    td_log_notice("restore: the last batch's %zu records are replayed in the order that "
                  "produced its alerts (its batch manifest)", total);
    goto done;
merge:
    td_log_notice("restore: %s: restoring by the merge (if live arrival reordered the last "
                  "batch, the restored state can differ from its committed alerts)", why);
done:
    /* the manifests are the open batch's again (they were decoded into it) */
    for (size_t i = 0; i < e->nparts; i++)
        tdm_manifest_reset(&e->parts[i].man, e->parts[i].base);
    free(order);
    free(mans);
    free(idx);
}

static void tdm_on_assign(tdm_engine *e, rd_kafka_topic_partition_list_t *parts)
{
    tdm_txn *txn = NULL;
    rd_kafka_resp_err_t x;
    td_error err = {0};

    tdm_parts_clear(e);
    tdm_batch_drop(e);
    e->assign_gen++;
    /* in slices, so that a stop request is not held up (it leaves the
     * assignment unused: the loop ends) */
    {
        int64_t end = td_time_mono_ms() + TDM_STARTUP_TIMEOUT_MS;
        do
            x = rd_kafka_committed(e->consumer, parts, TDM_SLICE_MS);
        while (x == RD_KAFKA_RESP_ERR__TIMED_OUT && !tdm_stopping() &&
               td_time_mono_ms() < end);
    }
    if (tdm_stopping())
        return;
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
        int in = tdm_input_of(e, tp->topic);
        tdm_part *p;
        int64_t c = tp->offset >= 0 ? tp->offset : -1, l = -1;
        if (in < 0)
            continue;
        p = &e->parts[e->nparts++];
        if (tdm_store_offset_get(txn, tp->topic, tp->partition, &l, &err) < 0)
            l = -1;
        p->topic = strdup(tp->topic);
        p->partition = tp->partition;
        p->in = in;
        p->restore_end = -1;
        p->eof_offset = -1;
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
        tdm_manifest_reset(&p->man, p->base);
    }
    tdm_store_abort(txn);
    tdm_replay_plan(e, parts);
    tdm_restore_check(e);
    tdm_load_begin(e);
    e->assigned = true;
    e->partial = tdm_assignment_partial(e);
    e->partial_logged = false;
    if (tdm_assign_all(e) < 0)
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
        /* after a stop, an abort that does not finish by the deadline is
         * done by the broker (transaction timeout) or the next start */
        if (td_kafka_txn_abort(e->producer, (int)e->cfg->transaction.timeout_ms, &err) < 0 &&
            !tdm_stopping())
            e->cb_rc = td_error_set(&e->cb_err, -ENOTRECOVERABLE, "%s", err.msg);
        e->txn_open = false;
    }
    tdm_batch_drop(e);
    tdm_parts_clear(e);
    e->assign_gen++;
    e->assigned = false;
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
    if (tdm_assign_all(e) < 0)
        return td_error_set(err, -EIO, "%s", e->cb_err.msg);
    tdm_restore_check(e);
    td_log_warning("transaction aborted; re-reading from the last commit");
    return 0;
}

static int tdm_commit_batch(tdm_engine *e, td_error *err);

static int tdm_commit(tdm_engine *e, td_error *err)
{
    int64_t t0;
    int r;

    if (e->batch_records == 0 && e->ndirty == 0 && !e->txn_open && !e->wtxn)
        return 0;
    if (tdm_replaying(e))
        return 0; /* LMDB commits the replayed batch whole, when it is done */
    t0 = td_time_mono_ms();
    r = tdm_commit_batch(e, err);
    e->commit_ms += td_time_mono_ms() - t0;
    e->n_commits++;
    if (r == 0 && e->mx) {
        td_metric_observe(e->mx->txn_duration, (double)(td_time_mono_ms() - t0) / 1000.0);
        td_metric_set(e->mx->last_commit, (double)td_time_wall_ms() / 1000.0);
    }
    return r;
}

static int tdm_commit_batch(tdm_engine *e, td_error *err)
{
    rd_kafka_topic_partition_list_t *offsets;
    int r;

    if (e->restoring) /* nothing to commit to Kafka, LMDB catches up */
        return tdm_store_batch(e, err);
    /* every partition's offset with its manifest as the metadata (an idle
     * partition's too, so that none keeps an older batch's) */
    offsets = rd_kafka_topic_partition_list_new((int)e->nparts + 1);
    for (size_t i = 0; i < e->nparts; i++) {
        const tdm_part *p = &e->parts[i];
        rd_kafka_topic_partition_t *tp;
        if (p->next < 0)
            continue;
        tp = rd_kafka_topic_partition_list_add(offsets, p->topic, p->partition);
        tp->offset = p->next;
        tp->metadata = malloc(p->man.len); /* freed with the list */
        if (!tp->metadata || tdm_manifest_encode(&p->man, tp->metadata, p->man.len) < 0) {
            rd_kafka_topic_partition_list_destroy(offsets);
            return td_error_set(err, -ENOMEM, "out of memory (batch manifest)");
        }
        tp->metadata_size = p->man.len;
    }
    for (;;) {
        r = tdm_begin(e, err);
        if (r == 0)
            r = td_kafka_txn_send_offset_list(e->producer, e->consumer, offsets,
                                              (int)e->cfg->transaction.timeout_ms, err);
        if (r == 0)
            r = td_kafka_txn_commit(e->producer, (int)e->cfg->transaction.timeout_ms, err);
        if (r == 0) {
            e->txn_open = false;
            break;
        }
        if (r == -ECANCELED) {
            rd_kafka_topic_partition_list_destroy(offsets);
            return tdm_rewind(e, err);
        }
        if (r != -ETIMEDOUT) {
            rd_kafka_topic_partition_list_destroy(offsets);
            return r;
        }
        if (tdm_stopping()) {
            /* Past the stop deadline: the batch stays uncommitted, neither
             * its offsets nor its state are written, and the next start
             * reads its records again. Nothing is lost. (A commit that did
             * reach the broker although the answer did not: the next start
             * finds LMDB behind the committed offsets and restores.) */
            rd_kafka_topic_partition_list_destroy(offsets);
            return r;
        }
        td_log_warning("commit: %s; retrying", err->msg);
        td_http_beat(e->http); /* alive, waiting for Kafka */
    }
    rd_kafka_topic_partition_list_destroy(offsets);
#ifdef TDM_FAULT_INJECTION
    if (e->fault_p != 0 && (e->fault_p < 0 ? e->batch_reordered
                                           : (double)rand() / RAND_MAX < e->fault_p)) {
        td_log_warning("fault injection: exiting between the Kafka and the LMDB commit "
                       "(%" PRId64 " records, %s)", e->batch_records,
                       e->batch_reordered ? "reordered" : "in the merge's order");
        _exit(TDM_FAULT_EXIT);
    }
#endif
    /* After the Kafka commit: the state and the offsets it reflects. A crash
     * before this line leaves LMDB behind; the next start restores. */
    r = tdm_store_batch(e, err);
    if (r < 0)
        return td_error_prefix(err, r, "writing the state after the Kafka commit: ");
    return 0;
}

/* ------------------------------------------------------- ready and ticks */

static void tdm_ready_check(tdm_engine *e)
{
    int32_t nroster = 0;
    size_t nh = 0, np = 0;
    tdm_txn *txn = NULL;
    td_error err = {0};

    if (e->ready || !e->assigned || e->restoring)
        return;
    for (size_t i = 0; i < e->nparts; i++) {
        const tdm_part *p = &e->parts[i];
        if (p->in != TDM_IN_ROSTER)
            continue;
        if (p->qn || !p->eof)
            return;
        nroster++;
    }
    if (nroster < e->roster_partitions)
        td_log_warning("this instance holds %" PRId32 " of the roster's %" PRId32
                       " partitions: run one tuodi-matchd per group (docs/architecture.md)",
                       nroster, e->roster_partitions);
    e->ready = true;
    if (e->mx)
        td_metric_set(e->mx->progress, 1);
    if (!e->brokers_down)
        td_http_set_ready(e->http, true, NULL);
    if (tdm_wtxn(e, &txn, &err) == 0)
        tdm_roster_count(e->roster, txn, &nh, &np, &err);
    td_notify_ready("running");
    td_log_notice("ready: roster caught up (%zu households, %zu persons); group %s, "
                  "transactional.id %s", nh, np, e->cfg->group_id, e->txn_id);
}

/* When no input has moved the stream clock for tick_interval, writes the
 * wall-clock time to the clock topic in the open transaction; it comes back
 * as an input (so a restart replays the same ticks). */
static int tdm_tick(tdm_engine *e, td_error *err)
{
    int64_t iv = e->cfg->clock.tick_interval_ms, now = td_time_wall_ms();
    int64_t mono = td_time_mono_ms();
    char val[32];
    int r;

    if (iv <= 0 || !e->ready || e->restoring || now - e->stream_ms < iv ||
        (e->last_tick_ms && mono - e->last_tick_ms < iv))
        return 0;
    snprintf(val, sizeof(val), "%" PRId64, now);
    r = tdm_produce(e, e->cfg->topics.clock, "tick", 4, val, strlen(val), NULL, 0, now, err);
    if (r < 0)
        return r;
    e->last_tick_ms = mono;
    if (e->batch_records == 0)
        e->batch_started_ms = mono;
    td_log_debug("tick %s", val);
    return 0;
}

/* ----------------------------------------------------------------- run */

/* The clients' error callback (in the loop's thread): td_kafka's, and
 * "all brokers down" makes /ready false until a broker answers again
 * (tdm_brokers_probe). */
static void tdm_error_cb(rd_kafka_t *rk, int code, const char *reason, void *opaque)
{
    tdm_engine *e = opaque;

    td_kafka_error_log(rk, code, reason);
    if (code == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN && e && !e->brokers_down) {
        e->brokers_down = true;
        td_http_set_ready(e->http, false, "all Kafka brokers are down (librdkafka: ALL_BROKERS_DOWN)");
        if (e->mx)
            td_metric_set(e->mx->ready, 0);
    }
}

/* While the brokers are down, a metadata request (TDM_PROBE_MS at most)
 * says when one answers again. */
static void tdm_brokers_probe(tdm_engine *e)
{
    const struct rd_kafka_metadata *md = NULL;

    if (!e->brokers_down || !e->consumer)
        return;
    if (rd_kafka_metadata(e->consumer, 0, NULL, &md, TDM_PROBE_MS) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return;
    rd_kafka_metadata_destroy(md);
    e->brokers_down = false;
    td_log_notice("Kafka answers again");
    if (e->ready)
        td_http_set_ready(e->http, true, NULL);
}

/* The share of the start-up load done (the roster up to its end, a
 * restore up to the committed offset: tdm_load_begin), as the progress
 * lines say it; 0 while none is known. */
static double tdm_progress(const tdm_engine *e, int64_t *ret_done, int64_t *ret_total)
{
    *ret_done = e->loading ? tdm_load_done(e) : 0;
    *ret_total = e->loading ? e->load_total : 0;
    return *ret_total > 0 ? (double)*ret_done / (double)*ret_total : 0;
}

/* Every TDM_GAUGES_MS: the gauges that are states (lag, clock, store,
 * roster, progress) and /ready's reason while not ready. */
static void tdm_gauges(tdm_engine *e)
{
    tdm_metrics *mx = e->mx;
    tdm_txn *txn = NULL;
    td_error err = {0};
    uint64_t file = 0, used = 0;
    size_t nh = 0, np = 0;
    int64_t done = 0, total = 0;
    double ratio;

    tdm_brokers_probe(e);
    if (!mx)
        return;
    if (e->lag_gen != e->assign_gen) { /* other partitions: their series go */
        td_metric_clear(mx->consumer_lag);
        e->lag_gen = e->assign_gen;
    }
    for (size_t i = 0; i < e->nparts; i++) {
        const tdm_part *p = &e->parts[i];
        int64_t lo = 0, hi = 0, next;
        char part[16];
        if (rd_kafka_get_watermark_offsets(e->consumer, p->topic, p->partition, &lo, &hi) != 0 ||
            hi < 0)
            continue;
        next = p->next >= lo ? p->next : lo;
        snprintf(part, sizeof(part), "%" PRId32, p->partition);
        td_metric_set(mx->consumer_lag, (double)(hi > next ? hi - next : 0), p->topic, part);
    }
    if (e->stream_ms > 0)
        td_metric_set(mx->clock_lag, (double)(td_time_wall_ms() - e->stream_ms) / 1000.0);
    if (tdm_store_usage(e->store, &file, &used) == 0) {
        td_metric_set(mx->lmdb_size, (double)file);
        td_metric_set(mx->lmdb_used, (double)used);
    }
    /* the batch's write transaction if one is open (LMDB: one transaction
     * per thread), else a snapshot */
    if (e->wtxn)
        txn = e->wtxn;
    else if (tdm_store_begin_read(e->store, &txn, &err) < 0)
        txn = NULL;
    if (txn && tdm_roster_count(e->roster, txn, &nh, &np, &err) == 0) {
        td_metric_set(mx->households, (double)nh);
        td_metric_set(mx->persons, (double)np);
    }
    if (txn && txn != e->wtxn)
        tdm_store_abort(txn);
    td_metric_set(mx->ready, e->ready && !e->restoring && !e->brokers_down);
    if (e->ready && !e->restoring) {
        td_metric_set(mx->progress, 1);
        if (!e->brokers_down)
            td_http_set_ready(e->http, true, NULL);
        return;
    }
    ratio = tdm_progress(e, &done, &total);
    td_metric_set(mx->progress, ratio);
    if (e->brokers_down)
        return;
    if (!e->assigned) {
        td_http_set_ready(e->http, false, "starting: waiting for the group's assignment");
    } else {
        char why[160];
        snprintf(why, sizeof(why), "%s: %.0f%% (%" PRId64 " of %" PRId64 " records)",
                 e->restoring ? "restoring the state" : "loading the roster", ratio * 100, done,
                 total);
        td_http_set_ready(e->http, false, why);
    }
}

static int tdm_start_producer(tdm_engine *e, td_error *err)
{
    rd_kafka_conf_t *conf = NULL;
    int r;

    r = td_kafka_producer_conf_new(NULL, e->txn_id, &e->cfg->kafka, &conf, err);
    if (r == 0) {
        /* dead letters are cut to what both the producer and a topic with
         * Kafka's default max.message.bytes take (tdm_reject) */
        char v[32];
        size_t n = sizeof(v);
        long long mmb = rd_kafka_conf_get(conf, "message.max.bytes", v, &n) == RD_KAFKA_CONF_OK
                            ? atoll(v) : 0;
        size_t cap = TD_KAFKA_BROKER_DEFAULT_MAX_MESSAGE_BYTES -
                     td_kafka_batch_overhead(TD_KAFKA_BROKER_DEFAULT_MAX_MESSAGE_BYTES);
        e->max_message = mmb > 0 && (size_t)mmb < cap ? (size_t)mmb : cap;
        rd_kafka_conf_set_error_cb(conf, tdm_error_cb);
        rd_kafka_conf_set_opaque(conf, e);
        r = td_kafka_new(RD_KAFKA_PRODUCER, conf, &e->producer, err);
    }
    if (r < 0)
        return r;
    for (;;) {
        td_error e2 = {0};
        r = td_kafka_txn_init(e->producer, (int)e->cfg->transaction.timeout_ms, &e2);
        if (r == 0)
            break;
        if (tdm_stopping()) /* a stop during start-up is a clean stop */
            return 0;
        if (r != -ETIMEDOUT)
            return td_error_set(err, r, "%s", e2.msg);
        td_log_warning("Kafka not reachable yet (%s); retrying", e2.msg);
        td_http_set_ready(e->http, false, "starting: Kafka not reachable yet");
        tdm_wait(e, TDM_RETRY_WAIT_MS);
    }
    return 0;
}

/* Waits until the roster topic exists; its partition count. */
static int tdm_roster_wait(tdm_engine *e, td_error *err)
{
    const char *topic = e->cfg->topics.roster;

    (void)err;
    while (!tdm_stopping()) {
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t x = td_kafka_topic_metadata(e->producer, topic, 5000, &md);
        if (x == 0 && md->topic_cnt == 1 && md->topics[0].err == 0 &&
            md->topics[0].partition_cnt > 0) {
            e->roster_partitions = md->topics[0].partition_cnt;
            rd_kafka_metadata_destroy(md);
            break;
        }
        if (x == 0)
            rd_kafka_metadata_destroy(md);
        if (tdm_stopping())
            break;
        td_log_warning("roster topic %s not available yet; retrying", topic);
        td_http_set_ready(e->http, false, "starting: the roster topic is not available yet");
        tdm_wait(e, TDM_RETRY_WAIT_MS);
    }
    return 0;
}

static int tdm_start_consumer(tdm_engine *e, td_error *err)
{
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_topic_partition_list_t *l;
    const char *topics[TDM_IN_COUNT];
    char errstr[256], regex[512];
    rd_kafka_resp_err_t x;
    int r;

    r = td_kafka_consumer_conf_new(NULL, e->cfg->group_id, &e->cfg->kafka, &conf, err);
    if (r < 0)
        return r;
    if (rd_kafka_conf_set(conf, "enable.partition.eof", "true", errstr, sizeof(errstr)) !=
            RD_KAFKA_CONF_OK ||
        /* an input topic created after the start joins within 10 s, not 5 min */
        (!td_kafka_props_find(&e->cfg->kafka, "topic.metadata.refresh.interval.ms") &&
         rd_kafka_conf_set(conf, "topic.metadata.refresh.interval.ms", "10000", errstr,
                           sizeof(errstr)) != RD_KAFKA_CONF_OK)) {
        rd_kafka_conf_destroy(conf);
        return td_error_set(err, -EINVAL, "%s", errstr);
    }
    /* Static membership: a restarted instance takes its predecessor's place
     * (and partitions) at once instead of waiting for its session to expire;
     * a second instance with the same id is fenced by the broker. */
    if (!td_kafka_props_find(&e->cfg->kafka, "group.instance.id") &&
        rd_kafka_conf_set(conf, "group.instance.id", e->txn_id, errstr, sizeof(errstr)) !=
            RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        return td_error_set(err, -EINVAL, "%s", errstr);
    }
    rd_kafka_conf_set_rebalance_cb(conf, tdm_rebalance_cb);
    rd_kafka_conf_set_error_cb(conf, tdm_error_cb);
    rd_kafka_conf_set_opaque(conf, e);
    r = td_kafka_new(RD_KAFKA_CONSUMER, conf, &e->consumer, err);
    if (r < 0)
        return r;
    /* The verification topics by a regex: librdkafka matches it against
     * the cluster's topics at every metadata refresh, so a county's topic
     * created later joins within topic.metadata.refresh.interval.ms (a
     * rebalance, as for any input topic created after the start). */
    if (tdm_alert_outcome_regex(e->cfg->topics.verifications_prefix, regex, sizeof(regex)) < 0)
        return td_error_set(err, -EINVAL, "topics.verifications_prefix %s: not a topic name "
                            "prefix", e->cfg->topics.verifications_prefix);
    tdm_input_topics(e, topics);
    topics[TDM_IN_VERIFY] = regex;
    l = rd_kafka_topic_partition_list_new(TDM_IN_COUNT);
    for (size_t i = 0; i < TDM_IN_COUNT; i++)
        rd_kafka_topic_partition_list_add(l, topics[i], RD_KAFKA_PARTITION_UA);
    x = rd_kafka_subscribe(e->consumer, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (x)
        return td_error_set(err, -EIO, "subscribe: %s", rd_kafka_err2str(x));
    return 0;
}

/* Suspects are on when the config says so and the rules have an enabled
 * suspect rule. */
static bool tdm_sus_wanted(const tdm_config *cfg, const tdm_rules *rules)
{
    if (!cfg->suspects)
        return false;
    for (size_t i = 0; i < tdm_rules_suspect_count(rules); i++)
        if (tdm_rules_suspect_at(rules, i)->enabled)
            return true;
    return false;
}

static void tdm_reload(tdm_engine *e)
{
    tdm_rules *next = NULL;
    td_error err = {0};

    td_notify_reloading();
    if (tdm_rules_reload(e->rules, e->cfg->rules, (int)e->cfg->rules_max_drop_percent, &next,
                         &err) < 0) {
        td_log_error("rules not reloaded, keeping the current ones: %s", err.msg);
    } else {
        tdm_rules_free(e->rules);
        e->rules = next;
        e->ctx.rules = next;
        if (tdm_sus_wanted(e->cfg, next) && !e->suspect_schema) {
            td_log_error("suspect rules reloaded, but %s has no Suspect schema: the "
                          "suspicious-data list stays off", e->cfg->schemas_dir);
            e->sus_on = false;
        } else {
            e->sus_on = tdm_sus_wanted(e->cfg, next);
        }
        td_log_notice("rules reloaded from %s: %zu rules, %zu suspect rules%s", e->cfg->rules,
                      tdm_rules_count(next), tdm_rules_suspect_count(next),
                      e->sus_on ? "" : " (the suspicious-data list is off)");
    }
    if (tdm_workdays_reload(e->workdays, &err) < 0)
        td_log_error("calendar not reloaded, keeping the current one: %s", err.msg);
    td_notify_ready("running");
}

/* True when a partition that takes part in the merge has no record
 * buffered and is not at its end: the merge waits for it. */
static bool tdm_needs_data(const tdm_engine *e)
{
    for (size_t i = 0; i < e->nparts; i++) {
        const tdm_part *p = &e->parts[i];
        if (e->restoring && p->restore_end < 0)
            continue;
        if (p->qn == 0 && !p->eof)
            return true;
    }
    return false;
}

/* Takes messages from the consumer (waiting up to timeout_ms for the first)
 * while the merge needs data, and at least one round to serve callbacks.
 * Not draining the queue when every partition has a record leaves the
 * prefetched messages in librdkafka, whose own limits
 * (queued.max.messages.kbytes) then hold the fetcher back: the buffers stay
 * small without pausing partitions, which would purge what was fetched. */
static int tdm_take(tdm_engine *e, int timeout_ms, td_error *err)
{
    for (int n = 0; n < TDM_POLL_ROUND; n++) {
        rd_kafka_message_t *m;
        int r;
        if (n > 0 && !tdm_needs_data(e) && !e->partial)
            break;
        m = rd_kafka_consumer_poll(e->consumer, n ? 0 : timeout_ms);
        if (e->cb_rc < 0) {
            if (m)
                rd_kafka_message_destroy(m);
            return td_error_set(err, e->cb_rc, "%s", e->cb_err.msg);
        }
        if (!m)
            break;
        r = tdm_receive(e, m, err);
        if (r < 0)
            return r;
    }
    return 0;
}

/* Processes merged records until the merge waits or the batch is full. */
static int tdm_work(tdm_engine *e, bool *progressed, td_error *err)
{
    int r = 0;

    *progressed = false;
    if (e->partial) {
        if (!e->partial_logged)
            td_log_warning("the group gave this instance %zu partitions, not all of the inputs: "
                           "holding until it has them all (another instance in group %s, or "
                           "a killed one whose session has not expired)",
                           e->nparts, e->cfg->group_id);
        e->partial_logged = true;
        return 0;
    }
    /* a replayed batch is replayed whole: it was committed as one */
    while (!tdm_stopping() &&
           (tdm_replaying(e) ||
            (e->batch_records < e->cfg->transaction.max_records && !e->batch_full))) {
        tdm_part *p;
        r = tdm_restore_progress(e, err);
        if (r < 0)
            return r;
        p = tdm_pick(e);
        if (!p && e->replay_bad[0]) {
            r = tdm_replay_abandon(e, err);
            if (r < 0)
                return r;
            continue;
        }
        if (!p)
            break;
        r = tdm_process(e, p, err);
        if (r == -ECANCELED)
            return tdm_rewind(e, err);
        if (r < 0)
            return r;
        *progressed = true;
    }
    return tdm_restore_progress(e, err);
}

/* The loop, until a stop request (0) or a failure. */
static int tdm_loop(tdm_engine *e, td_error *err)
{
    bool progressed = false;
    int64_t last_notify_ms = 0;
    int r;

    while (!tdm_stopping()) {
        int64_t now = td_time_mono_ms();
        td_http_beat(e->http);
        if (e->http && now - e->gauges_ms >= TDM_GAUGES_MS) {
            tdm_gauges(e);
            e->gauges_ms = now;
        }
        if (now - last_notify_ms >= (e->cfg->progress_interval_ms < 1000 ? e->cfg->progress_interval_ms : 1000)) {
            /* one datagram a second, not per round (tests: more often) */
            td_notify_watchdog();
            if (!tdm_load_progress(e))
                td_notify_status("%" PRIu64 " records, %" PRIu64 " alerts, %" PRIu64
                                 " rejected", e->n_records, e->n_alerts, e->n_rejected);
            last_notify_ms = now;
        }
        if (td_signal_take_reload())
            tdm_reload(e);
        {
            int64_t t0 = progressed ? 0 : td_time_mono_ms();
            r = tdm_take(e, progressed ? 0 : 100, err);
            if (t0 && e->wait_since_ms)
                e->merge_wait_ms += td_time_mono_ms() - t0;
        }
        if (r == 0)
            r = tdm_work(e, &progressed, err);
        if (r == 0) {
            tdm_ready_check(e);
            r = tdm_tick(e, err);
        }
        if (r == -ECANCELED)
            r = tdm_rewind(e, err);
        if (r < 0)
            return r;
        rd_kafka_poll(e->producer, 0);
        if (e->batch_records >= e->cfg->transaction.max_records || e->batch_full ||
            ((e->batch_records > 0 || e->txn_open) &&
             td_time_mono_ms() - e->batch_started_ms >= e->cfg->transaction.max_interval_ms)) {
            r = tdm_commit(e, err);
            if (r < 0)
                return r;
        }
    }
    return 0;
}

int tdm_engine_run(tdm_engine *e, td_error *err)
{
    int r;

    r = tdm_start_producer(e, err);
    if (r == 0 && !tdm_stopping())
        r = tdm_topic_ensure(e, e->cfg->topics.clock, 1, err);
    if (r == 0 && !tdm_stopping())
        r = tdm_roster_wait(e, err);
    if (r == 0 && !tdm_stopping())
        r = tdm_start_consumer(e, err);
    if (tdm_stopping()) {
        /* A stop request ends start-up: nothing was read, nothing to commit
         * (and no "started": it did not). */
        td_log_notice("stopped while starting");
        return 0;
    }
    if (r < 0)
        return r;
    td_log_notice("started: reading the roster %s (%" PRId32 " partitions) and the inputs",
                  e->cfg->topics.roster, e->roster_partitions);
    r = tdm_loop(e, err);
    if (r == 0) {
        /* Committed if Kafka answers before the stop deadline (td_signal.h). */
        td_notify_stopping("committing the open transaction");
        r = tdm_commit(e, err);
    }
    if (r < 0 && tdm_stopping()) {
        /* What failed because of the stop (a commit past the stop deadline,
         * a call cut short): the batch stays uncommitted, in Kafka and in
         * LMDB alike, and the next start reads its records again. */
        td_log_warning("stopping without committing the open batch (%s): its records are "
                       "read again at the next start", err->msg);
        r = 0;
    }
    if (r < 0)
        return r;
    td_log_notice("stopped: %" PRIu64 " records (%" PRIu64 " roster), %" PRIu64 " alerts, %" PRIu64
                  " suspect messages, %" PRIu64 " rejected, %" PRIu64 " skipped", e->n_records,
                  e->n_roster, e->n_alerts, e->n_suspects, e->n_rejected, e->n_skipped);
    td_log_info("time: %" PRIu64 " commits took %" PRId64 " ms; the merge waited %" PRId64
                " ms for partitions; %" PRIu64 " pauses", e->n_commits, e->commit_ms,
                e->merge_wait_ms, e->n_pauses);
    return 0;
}

/* ---------------------------------------------------------- new / free */

/* The longest window or span any rule looks back over, in days. */
static int tdm_longest_window(const tdm_rules *rules)
{
    int longest = 1;
    for (size_t i = 0; i < tdm_rules_count(rules); i++) {
        const tdm_rule *r = tdm_rules_at(rules, i);
        if (r->condition.window_days > longest)
            longest = r->condition.window_days;
        if (r->condition.within_days > longest)
            longest = r->condition.within_days;
    }
    return longest;
}

/* --connect: the brokers answer, and the input topics of fixed names exist
 * (the daemon creates its own: alerts, dead letters, clock; it reads the
 * counties' verification topics that exist, as they come). */
static int tdm_check_kafka(const tdm_config *cfg, const char *config_path, td_error *err)
{
    const char *const topics[4] = {cfg->topics.roster, cfg->topics.medical, cfg->topics.civil,
                                   cfg->topics.hr};
    static const char *const keys[4] = {"topics.roster", "topics.medical_insurance",
                                        "topics.civil_affairs", "topics.human_resources"};

    return td_kafka_check_topics(&cfg->kafka, config_path, topics, keys, 4,
                                 TDM_PROBE_TIMEOUT_MS,
                                 "tuodictl topics create makes it; tuodi-matchd would wait for it",
                                 err);
}

int tdm_engine_check(const tdm_config *cfg, const char *config_path, bool connect,
                     size_t *ret_nrules, FILE *out)
{
    static const char *const store_files[] = {"data.mdb", "lock.mdb"};
    td_avro_registry *reg = NULL;
    tdm_rules *rules = NULL;
    rd_kafka_conf_t *conf = NULL;
    td_check ck = {.out = out};
    td_error *step = &ck.step;
    char txn_id[200];
    int r;

    if (!cfg || !out)
        return -EINVAL;
    /* the rules file */
    if (td_check_step(&ck, td_path_check(config_path, "rules", cfg->rules, TD_PATH_READ_FILE,
                                         NULL, step)) == 0) {
        td_check_step(&ck, tdm_rules_load(cfg->rules, &rules, step));
        if (rules && ret_nrules)
            *ret_nrules = tdm_rules_count(rules);
        tdm_rules_free(rules);
    }
    /* the holiday file (missing at the default path: a warning at the start) */
    if ((strcmp(cfg->calendar, TDM_CALENDAR_DEFAULT) != 0 || access(cfg->calendar, F_OK) == 0) &&
        td_check_step(&ck, td_path_check(config_path, "calendar", cfg->calendar,
                                         TD_PATH_READ_FILE, NULL, step)) == 0) {
        tdm_holidays *h = NULL;
        td_check_step(&ck, tdm_holidays_load(cfg->calendar, &h, step));
        tdm_holidays_free(h);
    }
    /* the schemas tdm_engine_new() needs */
    if (td_check_step(&ck, td_path_check(config_path, "schemas_dir", cfg->schemas_dir,
                                         TD_PATH_READ_DIR, "the Avro schemas are read from it",
                                         step)) == 0) {
        td_check_step(&ck, td_avro_registry_new(&reg));
        if (reg) {
            td_check_step(&ck, td_avro_registry_load_dir(reg, cfg->schemas_dir, NULL, step));
            for (int i = 0; i < TDM_IN_COUNT; i++)
                if (tdm_in_schema[i] && !td_avro_registry_find_name(reg, tdm_in_schema[i]))
                    td_check_step(&ck, td_path_problem(step, config_path, "schemas_dir", -ENOENT,
                                                       "%s: no schema %s", cfg->schemas_dir,
                                                       tdm_in_schema[i]));
            if (!td_avro_registry_find_name(reg, TDM_ROSTER_SCHEMA) ||
                !td_avro_registry_find_name(reg, "cn.tuodi.Alert"))
                td_check_step(&ck, td_path_problem(step, config_path, "schemas_dir", -ENOENT,
                                                   "%s: no Household or Alert schema",
                                                   cfg->schemas_dir));
            if (cfg->suspects && !td_avro_registry_find_name(reg, "cn.tuodi.Suspect"))
                td_check_step(&ck, td_path_problem(step, config_path, "schemas_dir", -ENOENT,
                                                   "%s: no Suspect schema (suspects: false "
                                                   "turns the suspicious-data list off)",
                                                   cfg->schemas_dir));
        }
        td_avro_registry_free(reg);
    }
    /* the state store: a directory it may write (or create), and its files */
    r = td_check_step(&ck, td_path_check(config_path, "state_dir", cfg->state_dir,
                                         TD_PATH_MAKE_DIR, "the LMDB state store lives there",
                                         step));
    for (size_t i = 0; r == 0 && i < sizeof(store_files) / sizeof(store_files[0]); i++) {
        char path[4096];

        snprintf(path, sizeof(path), "%s/%s", cfg->state_dir, store_files[i]);
        if (access(path, F_OK) == 0)
            r = td_check_step(&ck, td_path_check(config_path, "state_dir", path,
                                                 TD_PATH_WRITE_FILE, "a file of the state store",
                                                 step));
    }
    /* Kafka: the settings of both clients and the files they name, no connection */
    snprintf(txn_id, sizeof(txn_id), "tuodi-matchd.%s", cfg->group_id);
    r = td_check_step(&ck, td_kafka_producer_conf_new(NULL, txn_id, &cfg->kafka, &conf, step));
    if (conf)
        rd_kafka_conf_destroy(conf);
    conf = NULL;
    if (r == 0) { /* else the same property would be reported twice */
        td_check_step(&ck, td_kafka_consumer_conf_new(NULL, cfg->group_id, &cfg->kafka, &conf,
                                                      step));
        if (conf)
            rd_kafka_conf_destroy(conf);
    }
    td_check_done(&ck, td_kafka_props_check_files(&cfg->kafka, config_path, "kafka", out));
    if (connect)
        td_check_step(&ck, tdm_check_kafka(cfg, config_path, step));
    return ck.rc;
}

/* tdm_engine_serve: the open alerts of the states in LMDB, counted once. */
static int tdm_count_state(const void *key, size_t key_len, const void *val, size_t len,
                           void *opaque)
{
    tdm_engine *e = opaque;
    tdm_window *w = NULL;
    td_error err = {0};

    (void)key;
    (void)key_len;
    if (tdm_window_decode(val, len, &w, &err) < 0)
        return 0; /* the engine says so when it loads it */
    tdm_metrics_window(e->mx, w, TDM_METRICS_BASE);
    tdm_window_free(w);
    return 0;
}

/* tdm_engine_serve: the open suspects of the states in LMDB, counted once. */
static int tdm_count_sus(const void *key, size_t key_len, const void *val, size_t len,
                         void *opaque)
{
    tdm_engine *e = opaque;
    tdm_suspects *s = NULL;
    td_error err = {0};

    (void)key;
    (void)key_len;
    if (len < 5 || tdm_suspects_decode((const unsigned char *)val + 4, len - 4, &s, &err) < 0)
        return 0; /* the engine says so when it loads it */
    tdm_metrics_suspects_open(e->mx, tdm_suspects_open_count(s), TDM_METRICS_BASE);
    tdm_suspects_free(s);
    return 0;
}

int tdm_engine_serve(tdm_engine *e, td_http *http, td_metrics *reg, const char *version,
                     td_error *err)
{
    tdm_txn *txn = NULL;
    int64_t t0 = td_time_mono_ms();
    int r;

    e->http = http;
    td_http_set_ready(http, false, "starting: connecting to Kafka");
    if (!reg)
        return 0;
    e->mx = tdm_metrics_new(reg, e->cfg->group_id, version, tdm_in_name, TDM_IN_COUNT);
    if (!e->mx)
        return td_error_set(err, -ENOMEM, "out of memory");
    tdm_workdays_metrics(e->workdays, reg);
    r = tdm_store_begin_read(e->store, &txn, err);
    if (r == 0)
        r = tdm_store_foreach(txn, e->db_state, tdm_count_state, e, err);
    if (r == 0)
        r = tdm_store_foreach(txn, e->db_sus, tdm_count_sus, e, err);
    tdm_store_abort(txn);
    if (r < 0)
        return td_error_prefix(err, r, "counting the open alerts: ");
    if (td_time_mono_ms() - t0 >= 1000)
        td_log_info("metrics: the open alerts of the state counted in %" PRId64 " ms",
                    td_time_mono_ms() - t0);
    return 0;
}

bool tdm_engine_fault_injection(void)
{
#ifdef TDM_FAULT_INJECTION
    return true;
#else
    return false;
#endif
}

int tdm_engine_new(const tdm_config *cfg, tdm_engine **ret, td_error *err)
{
    tdm_engine *e = calloc(1, sizeof(*e));
    const td_avro_schema *s;
    int r;

    if (!e)
        return td_error_set(err, -ENOMEM, "out of memory");
    e->cfg = cfg;
#ifdef TDM_FAULT_INJECTION
    {
        const char *f = getenv(TDM_FAULT_ENV);
        char *end = NULL;
        if (f && strcmp(f, "reordered") == 0) {
            e->fault_p = -1;
        } else if (f && *f) {
            e->fault_p = strtod(f, &end);
            if (*end || !(e->fault_p > 0 && e->fault_p <= 1)) {
                free(e);
                return td_error_set(err, -EINVAL, "%s: \"%s\" is neither \"reordered\" nor a "
                                    "probability in (0, 1]", TDM_FAULT_ENV, f);
            }
            srand((unsigned)getpid());
        }
        if (e->fault_p != 0)
            td_log_warning("fault injection on (%s=%s): this build exits between Kafka and "
                           "LMDB commits on purpose", TDM_FAULT_ENV, f);
    }
#endif
    snprintf(e->instance, sizeof(e->instance), "tuodi-matchd@%s", cfg->group_id);
    snprintf(e->txn_id, sizeof(e->txn_id), "tuodi-matchd.%s", cfg->group_id);
    r = tdm_rules_load(cfg->rules, &e->rules, err);
    if (r == 0)
        r = tdm_workdays_new(cfg->calendar, strcmp(cfg->calendar, TDM_CALENDAR_DEFAULT) == 0,
                             &e->workdays, err);
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
        if (!tdm_in_schema[i])
            continue;
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
        r = td_avro_decoder_new(e->reg, e->alert_schema, &e->alert_dec, err);
    if (r == 0)
        r = td_avro_schema_value_new(e->alert_schema, &e->alert_value, err);
    if (r < 0)
        goto fail;
    e->has_alert_value = true;
    /* the Suspect schema: needed once suspects are on (a reload may turn
     * them on: it is loaded whenever the schemas have it) */
    e->suspect_schema = td_avro_registry_find_name(e->reg, "cn.tuodi.Suspect");
    if (e->suspect_schema) {
        r = td_avro_schema_value_new(e->suspect_schema, &e->suspect_value, err);
        if (r < 0)
            goto fail;
        e->has_suspect_value = true;
    } else if (tdm_sus_wanted(cfg, e->rules)) {
        r = td_error_set(err, -ENOENT, "%s: no Suspect schema (the rules have suspect rules; "
                         "suspects: false turns them off)", cfg->schemas_dir);
        goto fail;
    }
    e->sus_on = tdm_sus_wanted(cfg, e->rules);
    {
        /* The state is of this group and these topics: another group's state
         * (a changed group_id or topic names, say after a key rotation) would
         * suppress alerts it never raised here. */
        const tdm_topics_config *t = &cfg->topics;
        char *owner = NULL;
        if (asprintf(&owner, "group_id=%s roster=%s medical_insurance=%s civil_affairs=%s "
                     "human_resources=%s verifications_prefix=%s alerts_prefix=%s",
                     cfg->group_id, t->roster, t->medical, t->civil, t->hr,
                     t->verifications_prefix,
                     t->alerts_prefix) < 0) {
            r = td_error_set(err, -ENOMEM, "out of memory");
            goto fail;
        }
        r = tdm_store_open_owned(cfg->state_dir, (size_t)cfg->store.map_size,
                                 (size_t)cfg->store.max_map_size, owner, &e->store, err);
        free(owner);
    }
    if (r < 0)
        goto fail;
    e->map_size = tdm_store_map_size(e->store);
    if (tdm_store_previous_owner(e->store))
        td_log_warning("state in %s was of another group or other topics (%s): it has been "
                       "reset: rebuilding from Kafka",
                       cfg->state_dir, tdm_store_previous_owner(e->store));
    else if (tdm_store_was_reset(e->store))
        td_log_warning("state in %s was unreadable and has been reset: rebuilding from Kafka",
                       cfg->state_dir);
    r = tdm_store_db(e->store, "state", &e->db_state, err);
    if (r == 0)
        r = tdm_store_db(e->store, "alerts", &e->db_alerts, err);
    if (r == 0)
        r = tdm_store_db(e->store, "due", &e->db_due, err);
    if (r == 0)
        r = tdm_store_db(e->store, "engine", &e->db_engine, err);
    if (r == 0)
        r = tdm_store_db(e->store, "suspects", &e->db_sus, err);
    if (r == 0)
        r = tdm_store_db(e->store, "suspect_index", &e->db_sus_index, err);
    if (r == 0)
        r = tdm_store_db(e->store, "suspect_due", &e->db_sus_due, err);
    if (r == 0)
        r = tdm_store_db(e->store, "alerts_closed", &e->db_alerts_closed, err);
    if (r == 0)
        r = tdm_store_db(e->store, "suspects_closed", &e->db_sus_closed, err);
    if (r == 0)
        r = tdm_store_db(e->store, "spent", &e->db_spent, err);
    if (r == 0)
        r = tdm_roster_new(e->store, e->reg, &e->roster, err);
    if (r == 0)
        r = tdm_clock_load(e, err);
    if (r < 0)
        goto fail;
    e->keep_days = tdm_longest_window(e->rules) + (int)(cfg->clock.lateness_ms / TDM_DAY_MS);
    e->closed_retention_days = (int)(cfg->store.closed_retention_ms / TDM_DAY_MS);
    if (e->keep_days > TDM_WINDOW_MAX_DAYS)
        e->keep_days = TDM_WINDOW_MAX_DAYS;
    e->ctx.rules = e->rules;
    e->ctx.calendar = tdm_workdays_calendar(e->workdays);
    e->ctx.instance = e->instance;
    e->ctx.max_event_age = (int32_t)(cfg->alerts.max_event_age_ms / TDM_DAY_MS);
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
        /* the messages held go first: rd_kafka_destroy() waits for them.
         * After a stop the consumer is not closed (td_kafka_destroy). */
        tdm_parts_clear(e);
        td_kafka_destroy(e->consumer);
    }
    if (e->producer) {
        if (e->txn_open) {
            /* after a stop, no longer than its deadline */
            td_error err = {0};
            td_kafka_txn_abort(e->producer, 10000, &err);
        }
        td_kafka_destroy(e->producer);
    }
    tdm_batch_drop(e);
    e->mx = tdm_metrics_free(e->mx);
    free(e->dirty);
    free(e->dirty_hash);
    tdm_parts_clear(e);
    for (size_t i = 0; i < e->ntopics; i++)
        free(e->topics[i]);
    free(e->topics);
    tdm_alert_list_done(&e->alerts);
    tdm_sus_forget(e);
    free(e->touched);
    tdm_suspect_list_done(&e->suspects);
    td_avro_buf_done(&e->buf);
    if (e->has_alert_value)
        avro_value_decref(&e->alert_value);
    if (e->has_suspect_value)
        avro_value_decref(&e->suspect_value);
    tdm_roster_free(e->roster);
    tdm_store_close(e->store);
    for (int i = 0; i < TDM_IN_COUNT; i++)
        td_avro_decoder_free(e->dec[i]);
    td_avro_decoder_free(e->hh_dec);
    td_avro_decoder_free(e->alert_dec);
    td_avro_registry_free(e->reg);
    tdm_rules_free(e->rules);
    tdm_workdays_free(e->workdays);
    free(e);
    return NULL;
}
