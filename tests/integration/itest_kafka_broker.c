/* Integration tests: the real Apache Kafka 4.x broker (KAFKA_BOOTSTRAP) and
 * librdkafka 2.0.2, through td_kafka, do what tuodi relies on:
 *   a. idempotent produce: every delivery report succeeds, the watermarks
 *      count each message once, a reader sees each once, in order;
 *   b. keys land on the partition Java's default partitioner picks;
 *   c. two consumers of one group split the partitions, read everything
 *      once, and their commits are visible with rd_kafka_committed();
 *   d. the transactional consume-transform-produce round, with an abort and
 *      a restart: read_committed hides exactly the aborted records, the
 *      group's offsets move only with committed transactions, and in the end
 *      the output holds every input exactly once;
 *   e. a second producer with the same transactional.id fences the first.
 * Every test makes its own topics (td_test_unique) and every wait is capped:
 * a broken broker or client fails a test with a message, it never hangs. */
#include "td_kafka.h"
#include "td_test.h"
#include "td_time.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Generous caps: a cold broker may take seconds to elect a group or
 * transaction coordinator. */
#define WAIT_MS 60000
#define TOPIC_WAIT_MS 30000
#define TXN_WAIT_MS 30000

static const char *bootstrap;

/* ---- small helpers --------------------------------------------------------- */

/* A consumed (or read) record. */
typedef struct rec {
    int32_t partition;
    int64_t offset;
    char *key;
    char *value;
} rec;

typedef struct recs {
    rec *v;
    size_t n, cap;
} recs;

static char *dup_bytes(const void *p, size_t len)
{
    char *s = malloc(len + 1);

    if (!s)
        abort();
    if (len)
        memcpy(s, p, len);
    s[len] = '\0';
    return s;
}

static void recs_add(recs *r, const rd_kafka_message_t *m)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 64;
        r->v = realloc(r->v, r->cap * sizeof(*r->v));
        if (!r->v)
            abort();
    }
    r->v[r->n].partition = m->partition;
    r->v[r->n].offset = m->offset;
    r->v[r->n].key = dup_bytes(m->key, m->key ? m->key_len : 0);
    r->v[r->n].value = dup_bytes(m->payload, m->payload ? m->len : 0);
    r->n++;
}

static void recs_free(recs *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].key);
        free(r->v[i].value);
    }
    free(r->v);
    memset(r, 0, sizeof(*r));
}

/* Index of the record whose value is value, or -1. */
static long recs_find_value(const recs *r, const char *value)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->v[i].value, value) == 0)
            return (long)i;
    return -1;
}

/* How many records have value. */
static size_t recs_count_value(const recs *r, const char *value)
{
    size_t c = 0;

    for (size_t i = 0; i < r->n; i++)
        c += strcmp(r->v[i].value, value) == 0;
    return c;
}

static void fail_with(const char *what, const td_error *err)
{
    fprintf(stderr, "\n    %s: %s\n", what, td_error_msg(err));
}

/* Delivery reports: counts in the client's opaque; per-message results in
 * the message opaque (a struct sent, or NULL). */
typedef struct sent {
    int32_t partition;
    int64_t offset;
    rd_kafka_resp_err_t err;
    bool reported;
} sent;

typedef struct dr_counts {
    int ok;
    int failed;
    char first_error[256];
} dr_counts;

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    dr_counts *c = opaque;
    sent *s = m->_private;

    (void)rk;
    if (m->err) {
        c->failed++;
        if (!c->first_error[0])
            snprintf(c->first_error, sizeof(c->first_error), "%s", rd_kafka_err2str(m->err));
    } else {
        c->ok++;
    }
    if (s) {
        s->partition = m->partition;
        s->offset = m->offset;
        s->err = m->err;
        s->reported = true;
    }
}

/* A tuodi producer (idempotent; transactional if tid) with delivery reports
 * counted into counts. NULL on failure (reported). */
static rd_kafka_t *make_producer(const char *tid, dr_counts *counts)
{
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_t *rk = NULL;
    td_error err = { 0 };

    if (td_kafka_producer_conf_new(bootstrap, tid, NULL, &conf, &err) < 0) {
        fail_with("producer conf", &err);
        return NULL;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_conf_set_opaque(conf, counts);
    if (td_kafka_new(RD_KAFKA_PRODUCER, conf, &rk, &err) < 0) {
        fail_with("producer", &err);
        return NULL;
    }
    return rk;
}

/* A tuodi consumer in group (read_committed, no auto commit). */
static rd_kafka_t *make_consumer(const char *group)
{
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_t *rk = NULL;
    td_error err = { 0 };

    if (td_kafka_consumer_conf_new(bootstrap, group, NULL, &conf, &err) < 0) {
        fail_with("consumer conf", &err);
        return NULL;
    }
    if (td_kafka_new(RD_KAFKA_CONSUMER, conf, &rk, &err) < 0) {
        fail_with("consumer", &err);
        return NULL;
    }
    return rk;
}

static bool subscribe(rd_kafka_t *c, const char *topic)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_resp_err_t e;

    rd_kafka_topic_partition_list_add(l, topic, RD_KAFKA_PARTITION_UA);
    e = rd_kafka_subscribe(c, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (e)
        fprintf(stderr, "\n    subscribe %s: %s\n", topic, rd_kafka_err2str(e));
    return e == RD_KAFKA_RESP_ERR_NO_ERROR;
}

/* Creates topic with partitions through a short-lived client. */
static bool make_topic(const char *topic, int partitions)
{
    td_kafka_topic_spec spec = { .name = topic, .partitions = partitions,
                                 .replication_factor = 1, .config = NULL };
    dr_counts unused = { 0 };
    rd_kafka_t *admin = make_producer(NULL, &unused);
    td_error err = { 0 };
    int r;

    if (!admin)
        return false;
    r = td_kafka_topics_ensure(admin, &spec, 1, TOPIC_WAIT_MS, &err);
    if (r < 0)
        fail_with(topic, &err);
    td_kafka_destroy(admin);
    return r == 0;
}

/* Produces one keyed record, waiting out a full local queue. (produceva
 * rather than producev: the RD_KAFKA_V_* macros use GNU statement
 * expressions, which clang -pedantic rejects.) */
static bool produce(rd_kafka_t *p, const char *topic, const char *key, const char *value,
                    sent *s)
{
    int64_t deadline = td_time_mono_ms() + WAIT_MS;
    rd_kafka_vu_t vu[5];

    memset(vu, 0, sizeof(vu));
    vu[0].vtype = RD_KAFKA_VTYPE_TOPIC;
    vu[0].u.cstr = topic;
    vu[1].vtype = RD_KAFKA_VTYPE_KEY;
    vu[1].u.mem.ptr = (void *)key;
    vu[1].u.mem.size = strlen(key);
    vu[2].vtype = RD_KAFKA_VTYPE_VALUE;
    vu[2].u.mem.ptr = (void *)value;
    vu[2].u.mem.size = strlen(value);
    vu[3].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    vu[3].u.i = RD_KAFKA_MSG_F_COPY;
    vu[4].vtype = RD_KAFKA_VTYPE_OPAQUE;
    vu[4].u.ptr = s;
    for (;;) {
        rd_kafka_error_t *error = rd_kafka_produceva(p, vu, sizeof(vu) / sizeof(vu[0]));
        rd_kafka_resp_err_t e = error ? rd_kafka_error_code(error) : RD_KAFKA_RESP_ERR_NO_ERROR;

        if (error)
            rd_kafka_error_destroy(error);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
            return true;
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL || td_time_mono_ms() > deadline) {
            fprintf(stderr, "\n    produce to %s: %s\n", topic, rd_kafka_err2str(e));
            return false;
        }
        rd_kafka_poll(p, 100);
    }
}

/* Polls consumer c until want more records arrived (appended to out) or
 * timeout_ms passed. Returns how many arrived. */
static size_t poll_n(rd_kafka_t *c, size_t want, recs *out, int timeout_ms)
{
    int64_t deadline = td_time_mono_ms() + timeout_ms;
    size_t got = 0;

    while (got < want && td_time_mono_ms() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 200);

        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            recs_add(out, m);
            got++;
        } else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            fprintf(stderr, "\n    consumer %s: %s\n", rd_kafka_name(c),
                    rd_kafka_message_errstr(m));
        }
        rd_kafka_message_destroy(m);
    }
    return got;
}

/* Reads all of topic (partitions 0..n-1) from the beginning with the given
 * isolation level, until every partition reported its end. A plain
 * librdkafka consumer built by hand: the verifier must not share the
 * invariants of the code it checks (read_uncommitted is not allowed there). */
static bool read_topic(const char *topic, int partitions, const char *isolation, recs *out)
{
    char errstr[512], *group = td_test_unique("tuodi-reader");
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_topic_partition_list_t *l = NULL;
    rd_kafka_t *c = NULL;
    int64_t deadline = td_time_mono_ms() + WAIT_MS;
    bool *eof = calloc((size_t)partitions, sizeof(*eof));
    int neof = 0;
    bool ok = false;

    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "group.id", group, errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "isolation.level", isolation, errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "enable.partition.eof", "true", errstr, sizeof(errstr)) ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof(errstr))) {
        fprintf(stderr, "\n    reader conf: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        goto out;
    }
    td_kafka_conf_set_logging(conf);
    c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (!c) {
        fprintf(stderr, "\n    reader: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        goto out;
    }
    rd_kafka_poll_set_consumer(c);
    l = rd_kafka_topic_partition_list_new(partitions);
    for (int p = 0; p < partitions; p++)
        rd_kafka_topic_partition_list_add(l, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    if (rd_kafka_assign(c, l)) {
        fprintf(stderr, "\n    reader: assign failed\n");
        goto out;
    }
    while (neof < partitions && td_time_mono_ms() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 200);

        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (m->partition >= 0 && m->partition < partitions && !eof[m->partition]) {
                eof[m->partition] = true;
                neof++;
            }
        } else if (m->err) {
            fprintf(stderr, "\n    reader: %s\n", rd_kafka_message_errstr(m));
        } else {
            recs_add(out, m);
        }
        rd_kafka_message_destroy(m);
    }
    ok = neof == partitions;
    if (!ok)
        fprintf(stderr, "\n    reader of %s: only %d of %d partitions read to the end\n", topic,
                neof, partitions);
out:
    if (l)
        rd_kafka_topic_partition_list_destroy(l);
    td_kafka_destroy(c);
    free(eof);
    free(group);
    return ok;
}

/* Sum over partitions 0..n-1 of (high - low) watermark, or -1. */
static int64_t watermark_span(rd_kafka_t *rk, const char *topic, int partitions, int64_t *high)
{
    int64_t sum = 0;

    for (int p = 0; p < partitions; p++) {
        int64_t lo = -1, hi = -1;
        rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 10000);

        if (e) {
            fprintf(stderr, "\n    watermarks %s[%d]: %s\n", topic, p, rd_kafka_err2str(e));
            return -1;
        }
        if (high)
            high[p] = hi;
        sum += hi - lo;
    }
    return sum;
}

/* Java's org.apache.kafka.common.utils.Utils.murmur2, in C. */
static int32_t java_murmur2(const void *data, size_t len)
{
    const uint8_t *b = data;
    const uint32_t m = 0x5bd1e995u;
    const int r = 24;
    uint32_t h = 0x9747b28cu ^ (uint32_t)len;
    size_t tail = len & ~(size_t)3;

    for (size_t i = 0; i < tail; i += 4) {
        uint32_t k = (uint32_t)b[i] | (uint32_t)b[i + 1] << 8 | (uint32_t)b[i + 2] << 16 |
                     (uint32_t)b[i + 3] << 24;
        k *= m;
        k ^= k >> r;
        k *= m;
        h *= m;
        h ^= k;
    }
    if (len % 4 >= 3)
        h ^= (uint32_t)b[tail + 2] << 16;
    if (len % 4 >= 2)
        h ^= (uint32_t)b[tail + 1] << 8;
    if (len % 4 >= 1) {
        h ^= (uint32_t)b[tail];
        h *= m;
    }
    h ^= h >> 13;
    h *= m;
    h ^= h >> 15;
    return (int32_t)h;
}

/* Java's DefaultPartitioner / BuiltInPartitioner for a keyed record:
 * Utils.toPositive(Utils.murmur2(keyBytes)) % numPartitions. */
static int32_t java_partition(const char *key, int partitions)
{
    return (int32_t)(((uint32_t)java_murmur2(key, strlen(key)) & 0x7fffffffu) %
                     (uint32_t)partitions);
}

/* ---- a. idempotent produce -------------------------------------------------- */

static void test_idempotent_produce(void)
{
    enum { N = 2000, P = 4 };
    char *topic = td_test_unique("tuodi-it-idem");
    dr_counts counts = { 0 };
    sent *s = calloc(N, sizeof(*s));
    rd_kafka_t *p = NULL;
    recs got = { 0 };
    int64_t high[P];
    int per_partition[P] = { 0 };
    int64_t last_index[P];
    char key[32], value[32];

    CU_ASSERT_FATAL(make_topic(topic, P));
    p = make_producer(NULL, &counts);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof(key), "key-%05d", i);
        snprintf(value, sizeof(value), "value-%05d", i);
        if (!produce(p, topic, key, value, &s[i])) {
            CU_FAIL("produce");
            break;
        }
    }
    CU_ASSERT_EQUAL(rd_kafka_flush(p, WAIT_MS), RD_KAFKA_RESP_ERR_NO_ERROR);
    CU_ASSERT_EQUAL(counts.ok, N);
    CU_ASSERT_EQUAL(counts.failed, 0);
    if (counts.failed)
        fprintf(stderr, "\n    first delivery error: %s\n", counts.first_error);

    /* The log holds N records, no more (no duplicates from retries). */
    CU_ASSERT_EQUAL(watermark_span(p, topic, P, high), N);

    /* A reader sees each key once, where the delivery report said, and in
     * the order produced within each partition. */
    CU_ASSERT_FATAL(read_topic(topic, P, "read_committed", &got));
    CU_ASSERT_EQUAL(got.n, (size_t)N);
    for (int q = 0; q < P; q++)
        last_index[q] = -1;
    for (size_t i = 0; i < got.n; i++) {
        int idx = -1;
        rec *g = &got.v[i];

        if (sscanf(g->key, "key-%d", &idx) != 1 || idx < 0 || idx >= N) {
            CU_FAIL("unexpected key");
            continue;
        }
        snprintf(value, sizeof(value), "value-%05d", idx);
        CU_ASSERT_STRING_EQUAL(g->value, value);
        CU_ASSERT_EQUAL(g->partition, s[idx].partition);
        CU_ASSERT_EQUAL(g->offset, s[idx].offset);
        CU_ASSERT_TRUE(idx > last_index[g->partition]); /* per-partition order */
        last_index[g->partition] = idx;
        per_partition[g->partition]++;
    }
    for (int q = 0; q < P; q++) {
        CU_ASSERT_TRUE(per_partition[q] > 0); /* keys spread over all partitions */
        CU_ASSERT_EQUAL(per_partition[q], high[q]);
    }

    recs_free(&got);
    td_kafka_destroy(p);
    free(s);
    free(topic);
}

/* ---- b. murmur2 partitioning ------------------------------------------------ */

static void test_murmur2_vectors(void)
{
    /* From librdkafka's unit test of its murmur2 (src/rdmurmur2.c,
     * "java_murmur2_results"), which holds values computed by Java. */
    static const struct {
        const char *key;
        uint32_t hash;
    } rdk[] = {
        { "kafka", 0xd067cf64u },
        { "giberish123456789", 0x8f552b0cu },
        { "1234", 0x9fc97b14u },
        { "234", 0xe7c009cau },
        { "34", 0x873930dau },
        { "4", 0x5a4b5ca1u },
        { "PreAmbleWillBeRemoved,ThePrePartThatIs", 0x78424f1cu },
        { "reAmbleWillBeRemoved,ThePrePartThatIs", 0x4a62b377u },
        { "eAmbleWillBeRemoved,ThePrePartThatIs", 0xe0e4e09eu },
        { "AmbleWillBeRemoved,ThePrePartThatIs", 0x62b8b43fu },
        { "", 0x106e08d9u },
    };
    /* From Apache Kafka's UtilsTest.testMurmur2 (signed, as Java prints). */
    static const struct {
        const char *key;
        int32_t hash;
    } java[] = {
        { "21", -973932308 },
        { "foobar", -790332482 },
        { "a-little-bit-long-string", -985981536 },
        { "a-little-bit-longer-string", -1486304829 },
        { "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971 },
        { "abc", 479470107 },
    };

    for (size_t i = 0; i < sizeof(rdk) / sizeof(rdk[0]); i++)
        CU_ASSERT_EQUAL((uint32_t)java_murmur2(rdk[i].key, strlen(rdk[i].key)), rdk[i].hash);
    for (size_t i = 0; i < sizeof(java) / sizeof(java[0]); i++)
        CU_ASSERT_EQUAL(java_murmur2(java[i].key, strlen(java[i].key)), java[i].hash);
    /* toPositive(-790332482) = 1357151166; % 10 = 6 */
    CU_ASSERT_EQUAL(java_partition("foobar", 10), 6);
}

static void test_murmur2_partitioning(void)
{
    enum { N = 300, P = 7 };
    char *topic = td_test_unique("tuodi-it-murmur");
    dr_counts counts = { 0 };
    sent s[N];
    rd_kafka_t *p = NULL;
    char key[64];
    int hits[P] = { 0 };
    int mismatches = 0;

    memset(s, 0, sizeof(s));
    CU_ASSERT_FATAL(make_topic(topic, P));
    p = make_producer(NULL, &counts);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    for (int i = 0; i < N; i++) {
        /* Keys of every length mod 4, as department record ids look. */
        snprintf(key, sizeof(key), "%.*s%d", i % 4, "dept", i * 7919);
        CU_ASSERT_FATAL(produce(p, topic, key, "v", &s[i]));
    }
    CU_ASSERT_EQUAL(rd_kafka_flush(p, WAIT_MS), RD_KAFKA_RESP_ERR_NO_ERROR);
    CU_ASSERT_EQUAL(counts.ok, N);
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof(key), "%.*s%d", i % 4, "dept", i * 7919);
        CU_ASSERT_TRUE(s[i].reported);
        if (s[i].partition != java_partition(key, P)) {
            if (mismatches++ < 5)
                fprintf(stderr, "\n    key %s: broker partition %d, Java's %d\n", key,
                        (int)s[i].partition, (int)java_partition(key, P));
        } else {
            hits[s[i].partition]++;
        }
    }
    CU_ASSERT_EQUAL(mismatches, 0);
    for (int q = 0; q < P; q++)
        CU_ASSERT_TRUE(hits[q] > 0);
    td_kafka_destroy(p);
    free(topic);
}

/* ---- c. consumer groups ----------------------------------------------------- */

/* Partition numbers assigned to c as a bit set; -1 on error. */
static int assigned_mask(rd_kafka_t *c)
{
    rd_kafka_topic_partition_list_t *l = NULL;
    int mask = 0;

    if (rd_kafka_assignment(c, &l))
        return -1;
    for (int i = 0; i < l->cnt; i++)
        mask |= 1 << l->elems[i].partition;
    rd_kafka_topic_partition_list_destroy(l);
    return mask;
}

static int bits(int mask)
{
    int n = 0;

    for (; mask; mask &= mask - 1)
        n++;
    return n;
}

static void test_consumer_group_split(void)
{
    enum { N = 400, P = 4 };
    char *topic = td_test_unique("tuodi-it-group");
    char *group = td_test_unique("tuodi-it-group");
    dr_counts counts = { 0 };
    rd_kafka_t *a = NULL, *b = NULL, *p = NULL;
    rd_kafka_topic_partition_list_t *committed = NULL;
    recs ra = { 0 }, rb = { 0 };
    int64_t deadline, high[P];
    int ma = 0, mb = 0;
    char key[32], value[32];

    CU_ASSERT_FATAL(make_topic(topic, P));
    a = make_consumer(group);
    b = make_consumer(group);
    CU_ASSERT_FATAL(a && b);
    CU_ASSERT_FATAL(subscribe(a, topic) && subscribe(b, topic));

    /* Both join; the group settles with the partitions split between them.
     * The topic is still empty, so nothing is consumed meanwhile. */
    deadline = td_time_mono_ms() + WAIT_MS;
    while (td_time_mono_ms() < deadline) {
        poll_n(a, 1, &ra, 100);
        poll_n(b, 1, &rb, 100);
        ma = assigned_mask(a);
        mb = assigned_mask(b);
        if (ma > 0 && mb > 0 && (ma & mb) == 0 && (ma | mb) == (1 << P) - 1)
            break;
    }
    CU_ASSERT_FATAL(ma > 0 && mb > 0 && (ma & mb) == 0 && (ma | mb) == (1 << P) - 1);
    CU_ASSERT_EQUAL(bits(ma), P / 2); /* roundrobin: an even split */
    CU_ASSERT_EQUAL(bits(mb), P / 2);
    CU_ASSERT_EQUAL(ra.n + rb.n, 0);

    p = make_producer(NULL, &counts);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof(key), "g-%04d", i);
        snprintf(value, sizeof(value), "gv-%04d", i);
        CU_ASSERT_FATAL(produce(p, topic, key, value, NULL));
    }
    CU_ASSERT_EQUAL(rd_kafka_flush(p, WAIT_MS), RD_KAFKA_RESP_ERR_NO_ERROR);
    CU_ASSERT_EQUAL(counts.ok, N);

    /* Together they read every record exactly once, each from its own
     * partitions. */
    deadline = td_time_mono_ms() + WAIT_MS;
    while (ra.n + rb.n < N && td_time_mono_ms() < deadline) {
        poll_n(a, N, &ra, 100);
        poll_n(b, N, &rb, 100);
    }
    poll_n(a, N, &ra, 500); /* anything extra would be a duplicate */
    poll_n(b, N, &rb, 500);
    CU_ASSERT_EQUAL(ra.n + rb.n, N);
    CU_ASSERT_TRUE(ra.n > 0 && rb.n > 0);
    for (size_t i = 0; i < ra.n; i++)
        CU_ASSERT_TRUE(ma & (1 << ra.v[i].partition));
    for (size_t i = 0; i < rb.n; i++)
        CU_ASSERT_TRUE(mb & (1 << rb.v[i].partition));
    for (int i = 0; i < N; i++) {
        snprintf(value, sizeof(value), "gv-%04d", i);
        CU_ASSERT_EQUAL(recs_count_value(&ra, value) + recs_count_value(&rb, value), 1);
    }

    /* Commit what each consumed (synchronously) and read the group's
     * offsets back through the coordinator. */
    CU_ASSERT_EQUAL(rd_kafka_commit(a, NULL, 0), RD_KAFKA_RESP_ERR_NO_ERROR);
    CU_ASSERT_EQUAL(rd_kafka_commit(b, NULL, 0), RD_KAFKA_RESP_ERR_NO_ERROR);
    CU_ASSERT_EQUAL(watermark_span(p, topic, P, high), N);
    committed = rd_kafka_topic_partition_list_new(P);
    for (int q = 0; q < P; q++)
        rd_kafka_topic_partition_list_add(committed, topic, q);
    CU_ASSERT_EQUAL(rd_kafka_committed(a, committed, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    for (int q = 0; q < P; q++) {
        CU_ASSERT_EQUAL(committed->elems[q].err, RD_KAFKA_RESP_ERR_NO_ERROR);
        CU_ASSERT_EQUAL(committed->elems[q].offset, high[q]);
    }

    rd_kafka_topic_partition_list_destroy(committed);
    recs_free(&ra);
    recs_free(&rb);
    td_kafka_destroy(a);
    td_kafka_destroy(b);
    td_kafka_destroy(p);
    free(topic);
    free(group);
}

/* ---- d. transactional consume-transform-produce ----------------------------- */

enum { TXN_M = 60, TXN_P = 3 };

/* Produces every record of batch, transformed, to topic in p's open
 * transaction. */
static bool produce_transformed(rd_kafka_t *p, const char *topic, const recs *batch,
                                size_t from)
{
    char value[256];

    for (size_t i = from; i < batch->n; i++) {
        snprintf(value, sizeof(value), "out:%s", batch->v[i].value);
        if (!produce(p, topic, batch->v[i].key, value, NULL))
            return false;
    }
    return true;
}

/* Offset of partition in list, or RD_KAFKA_OFFSET_INVALID. */
static int64_t list_offset(const rd_kafka_topic_partition_list_t *l, int32_t partition)
{
    for (int i = 0; l && i < l->cnt; i++)
        if (l->elems[i].partition == partition)
            return l->elems[i].offset;
    return RD_KAFKA_OFFSET_INVALID;
}

static void test_transactional_round(void)
{
    char *in = td_test_unique("tuodi-it-txin");
    char *out = td_test_unique("tuodi-it-txout");
    char *group = td_test_unique("tuodi-it-txgroup");
    char *tid = td_test_unique("tuodi-it-txid");
    dr_counts counts = { 0 };
    rd_kafka_t *feeder = NULL, *c = NULL, *p = NULL;
    rd_kafka_topic_partition_list_t *sent1 = NULL, *sent2 = NULL, *sent3 = NULL;
    rd_kafka_topic_partition_list_t *committed = NULL;
    recs consumed = { 0 }, view = { 0 };
    td_error err = { 0 };
    int64_t expect1[TXN_P], first_after[TXN_P], high[TXN_P];
    char key[32], value[64];
    int r;

    CU_ASSERT_FATAL(make_topic(in, TXN_P));
    CU_ASSERT_FATAL(make_topic(out, TXN_P));

    /* The input: M keyed records. */
    feeder = make_producer(NULL, &counts);
    CU_ASSERT_PTR_NOT_NULL_FATAL(feeder);
    for (int i = 0; i < TXN_M; i++) {
        snprintf(key, sizeof(key), "in-%03d", i);
        snprintf(value, sizeof(value), "payload-%03d", i);
        CU_ASSERT_FATAL(produce(feeder, in, key, value, NULL));
    }
    CU_ASSERT_EQUAL_FATAL(rd_kafka_flush(feeder, WAIT_MS), RD_KAFKA_RESP_ERR_NO_ERROR);
    CU_ASSERT_EQUAL_FATAL(counts.ok, TXN_M);
    feeder = td_kafka_destroy(feeder);

    c = make_consumer(group);
    p = make_producer(tid, &counts);
    CU_ASSERT_FATAL(c && p && subscribe(c, in));
    r = td_kafka_txn_init(p, TXN_WAIT_MS, &err);
    if (r < 0)
        fail_with("init", &err);
    CU_ASSERT_EQUAL_FATAL(r, 0);

    /* txn 1: the first half, committed with its offsets. */
    CU_ASSERT_EQUAL_FATAL(td_kafka_txn_begin(p, &err), 0);
    CU_ASSERT_EQUAL_FATAL(poll_n(c, TXN_M / 2, &consumed, WAIT_MS), TXN_M / 2);
    CU_ASSERT_FATAL(produce_transformed(p, out, &consumed, 0));
    r = td_kafka_txn_send_offsets(p, c, TXN_WAIT_MS, &sent1, &err);
    if (r < 0)
        fail_with("send offsets 1", &err);
    CU_ASSERT_EQUAL_FATAL(r, 0);
    r = td_kafka_txn_commit(p, TXN_WAIT_MS, &err);
    if (r < 0)
        fail_with("commit 1", &err);
    CU_ASSERT_EQUAL_FATAL(r, 0);
    /* What was sent is "last consumed + 1" per partition. */
    for (int q = 0; q < TXN_P; q++) {
        expect1[q] = RD_KAFKA_OFFSET_INVALID;
        for (size_t i = 0; i < consumed.n; i++)
            if (consumed.v[i].partition == q && consumed.v[i].offset + 1 > expect1[q])
                expect1[q] = consumed.v[i].offset + 1;
        CU_ASSERT_EQUAL(list_offset(sent1, q), expect1[q]);
    }

    /* txn 2: the rest, produced and offsets sent, then aborted. */
    CU_ASSERT_EQUAL_FATAL(td_kafka_txn_begin(p, &err), 0);
    CU_ASSERT_EQUAL_FATAL(poll_n(c, TXN_M - TXN_M / 2, &consumed, WAIT_MS), TXN_M - TXN_M / 2);
    CU_ASSERT_FATAL(produce_transformed(p, out, &consumed, TXN_M / 2));
    CU_ASSERT_EQUAL_FATAL(td_kafka_txn_send_offsets(p, c, TXN_WAIT_MS, &sent2, &err), 0);
    CU_ASSERT_TRUE(sent2->cnt > 0);
    CU_ASSERT_EQUAL(rd_kafka_flush(p, WAIT_MS), RD_KAFKA_RESP_ERR_NO_ERROR); /* really written */
    r = td_kafka_txn_abort(p, TXN_WAIT_MS, &err);
    if (r < 0)
        fail_with("abort 2", &err);
    CU_ASSERT_EQUAL_FATAL(r, 0);

    /* read_committed: exactly the first half, not one aborted record. */
    CU_ASSERT_FATAL(read_topic(out, TXN_P, "read_committed", &view));
    CU_ASSERT_EQUAL(view.n, TXN_M / 2);
    for (size_t i = 0; i < consumed.n; i++) {
        snprintf(value, sizeof(value), "out:%s", consumed.v[i].value);
        CU_ASSERT_EQUAL(recs_count_value(&view, value), i < TXN_M / 2 ? 1 : 0);
    }
    recs_free(&view);
    /* read_uncommitted: the aborted records are in the log; only isolation
     * hides them. */
    CU_ASSERT_FATAL(read_topic(out, TXN_P, "read_uncommitted", &view));
    CU_ASSERT_EQUAL(view.n, TXN_M);
    for (size_t i = 0; i < consumed.n; i++) {
        snprintf(value, sizeof(value), "out:%s", consumed.v[i].value);
        CU_ASSERT_EQUAL(recs_count_value(&view, value), 1);
    }
    recs_free(&view);

    /* "Restart": new consumer and producer, same group and transactional.id. */
    c = td_kafka_destroy(c);
    p = td_kafka_destroy(p);
    c = make_consumer(group);
    p = make_producer(tid, &counts);
    CU_ASSERT_FATAL(c && p);
    CU_ASSERT_EQUAL_FATAL(td_kafka_txn_init(p, TXN_WAIT_MS, &err), 0);

    /* The group's offsets are those of txn 1, not of the aborted txn 2. */
    committed = rd_kafka_topic_partition_list_new(TXN_P);
    for (int q = 0; q < TXN_P; q++)
        rd_kafka_topic_partition_list_add(committed, in, q);
    CU_ASSERT_EQUAL_FATAL(rd_kafka_committed(c, committed, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    for (int q = 0; q < TXN_P; q++) {
        CU_ASSERT_EQUAL(committed->elems[q].offset, expect1[q]);
        if (committed->elems[q].offset != expect1[q])
            fprintf(stderr, "\n    %s[%d] committed %" PRId64 ", txn 1 sent %" PRId64 "\n", in,
                    q, committed->elems[q].offset, expect1[q]);
    }

    /* txn 3: consumption resumes at the first record of the aborted txn. */
    CU_ASSERT_FATAL(subscribe(c, in));
    CU_ASSERT_EQUAL_FATAL(td_kafka_txn_begin(p, &err), 0);
    {
        recs again = { 0 };

        CU_ASSERT_EQUAL(poll_n(c, TXN_M - TXN_M / 2, &again, WAIT_MS), TXN_M - TXN_M / 2);
        for (int q = 0; q < TXN_P; q++)
            first_after[q] = -1;
        for (size_t i = 0; i < again.n; i++) {
            int32_t q = again.v[i].partition;

            if (first_after[q] < 0)
                first_after[q] = again.v[i].offset;
            /* exactly the records of the aborted txn 2, in the same places */
            CU_ASSERT_TRUE(recs_find_value(&consumed, again.v[i].value) >= TXN_M / 2);
        }
        for (int q = 0; q < TXN_P; q++)
            if (first_after[q] >= 0)
                CU_ASSERT_EQUAL(first_after[q], expect1[q] < 0 ? 0 : expect1[q]);
        CU_ASSERT_FATAL(produce_transformed(p, out, &again, 0));
        recs_free(&again);
    }
    CU_ASSERT_EQUAL_FATAL(td_kafka_txn_send_offsets(p, c, TXN_WAIT_MS, &sent3, &err), 0);
    r = td_kafka_txn_commit(p, TXN_WAIT_MS, &err);
    if (r < 0)
        fail_with("commit 3", &err);
    CU_ASSERT_EQUAL_FATAL(r, 0);

    /* Finally: every input exactly once in the committed output, on the
     * partition of its input (same key, same partitioner). */
    CU_ASSERT_FATAL(read_topic(out, TXN_P, "read_committed", &view));
    CU_ASSERT_EQUAL(view.n, TXN_M);
    for (size_t i = 0; i < consumed.n; i++) {
        long at;

        snprintf(value, sizeof(value), "out:%s", consumed.v[i].value);
        CU_ASSERT_EQUAL(recs_count_value(&view, value), 1);
        at = recs_find_value(&view, value);
        if (at >= 0) {
            CU_ASSERT_STRING_EQUAL(view.v[at].key, consumed.v[i].key);
            CU_ASSERT_EQUAL(view.v[at].partition, consumed.v[i].partition);
        }
    }
    recs_free(&view);
    /* and the group has consumed the whole input */
    CU_ASSERT_EQUAL(rd_kafka_committed(c, committed, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    CU_ASSERT_EQUAL(watermark_span(c, in, TXN_P, high), TXN_M);
    for (int q = 0; q < TXN_P; q++)
        CU_ASSERT_EQUAL(committed->elems[q].offset, high[q]);

    rd_kafka_topic_partition_list_destroy(committed);
    if (sent1)
        rd_kafka_topic_partition_list_destroy(sent1);
    if (sent2)
        rd_kafka_topic_partition_list_destroy(sent2);
    if (sent3)
        rd_kafka_topic_partition_list_destroy(sent3);
    recs_free(&consumed);
    td_kafka_destroy(c);
    td_kafka_destroy(p);
    free(in);
    free(out);
    free(group);
    free(tid);
}

/* ---- e. fencing ---------------------------------------------------------------- */

static void test_fencing(void)
{
    char *topic = td_test_unique("tuodi-it-fence");
    char *tid = td_test_unique("tuodi-it-fenceid");
    dr_counts c1 = { 0 }, c2 = { 0 };
    rd_kafka_t *p1 = NULL, *p2 = NULL;
    recs view = { 0 };
    td_error err = { 0 };
    char fatal[256];
    int r;

    CU_ASSERT_FATAL(make_topic(topic, 1));
    p1 = make_producer(tid, &c1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p1);
    CU_ASSERT_EQUAL_FATAL(td_kafka_txn_init(p1, TXN_WAIT_MS, &err), 0);
    CU_ASSERT_EQUAL_FATAL(td_kafka_txn_begin(p1, &err), 0);
    CU_ASSERT_FATAL(produce(p1, topic, "k", "from-zombie", NULL));
    CU_ASSERT_EQUAL(rd_kafka_flush(p1, WAIT_MS), RD_KAFKA_RESP_ERR_NO_ERROR);

    /* A second instance with the same transactional.id takes over: its init
     * aborts the first one's open transaction and bumps the epoch. */
    p2 = make_producer(tid, &c2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p2);
    r = td_kafka_txn_init(p2, TXN_WAIT_MS, &err);
    if (r < 0)
        fail_with("init 2", &err);
    CU_ASSERT_EQUAL_FATAL(r, 0);

    /* The first one's next transactional operation fails fatally. */
    r = td_kafka_txn_commit(p1, TXN_WAIT_MS, &err);
    CU_ASSERT_EQUAL(r, -ENOTRECOVERABLE);
    if (r != -ENOTRECOVERABLE)
        fail_with("commit of the fenced producer", &err);
    CU_ASSERT_NOT_EQUAL(rd_kafka_fatal_error(p1, fatal, sizeof(fatal)),
                        RD_KAFKA_RESP_ERR_NO_ERROR);
    p1 = td_kafka_destroy(p1);

    /* The new one works, and only its record is ever visible. */
    CU_ASSERT_EQUAL_FATAL(td_kafka_txn_begin(p2, &err), 0);
    CU_ASSERT_FATAL(produce(p2, topic, "k", "from-successor", NULL));
    CU_ASSERT_EQUAL(td_kafka_txn_commit(p2, TXN_WAIT_MS, &err), 0);
    CU_ASSERT_FATAL(read_topic(topic, 1, "read_committed", &view));
    CU_ASSERT_EQUAL(view.n, 1);
    CU_ASSERT_EQUAL(recs_count_value(&view, "from-successor"), 1);
    CU_ASSERT_EQUAL(recs_count_value(&view, "from-zombie"), 0);

    recs_free(&view);
    td_kafka_destroy(p2);
    free(topic);
    free(tid);
}

/* ---- topics helper ---------------------------------------------------------- */

static void test_topics_ensure_idempotent(void)
{
    char *name = td_test_unique("tuodi-it-compact");
    td_kafka_props cfg = { 0 };
    td_kafka_topic_spec spec = { .name = name, .partitions = 2, .replication_factor = 1,
                                 .config = &cfg };
    dr_counts unused = { 0 };
    rd_kafka_t *admin = make_producer(NULL, &unused);
    td_error err = { 0 };
    int r;

    CU_ASSERT_PTR_NOT_NULL_FATAL(admin);
    td_kafka_props_add(&cfg, "cleanup.policy", "compact", "topics.yaml:3:5");
    r = td_kafka_topics_ensure(admin, &spec, 1, TOPIC_WAIT_MS, &err);
    if (r < 0)
        fail_with("create", &err);
    CU_ASSERT_EQUAL_FATAL(r, 0);
    /* again: TOPIC_ALREADY_EXISTS is success */
    CU_ASSERT_EQUAL(td_kafka_topics_ensure(admin, &spec, 1, TOPIC_WAIT_MS, &err), 0);
    /* but not with another partition count */
    spec.partitions = 3;
    CU_ASSERT_EQUAL(td_kafka_topics_ensure(admin, &spec, 1, TOPIC_WAIT_MS, &err), -EEXIST);
    /* a config the broker rejects names the topic */
    td_kafka_props_clear(&cfg);
    free(name);
    name = td_test_unique("tuodi-it-badcfg");
    spec.name = name;
    td_kafka_props_add(&cfg, "cleanup.policy", "shred", NULL);
    CU_ASSERT_EQUAL(td_kafka_topics_ensure(admin, &spec, 1, TOPIC_WAIT_MS, &err), -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, name));

    td_kafka_props_clear(&cfg);
    td_kafka_destroy(admin);
    free(name);
}

/* Fails the suite at once (instead of every test after its own timeouts)
 * when no broker answers at KAFKA_BOOTSTRAP. */
static int suite_init(void)
{
    const struct rd_kafka_metadata *md = NULL;
    dr_counts unused = { 0 };
    rd_kafka_t *probe;
    rd_kafka_resp_err_t e;

    bootstrap = td_test_bootstrap();
    probe = make_producer(NULL, &unused);
    if (!probe)
        return 1;
    e = rd_kafka_metadata(probe, 0, NULL, &md, 15000);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR && md->broker_cnt > 0)
        fprintf(stderr, "broker: %d node(s) at %s\n", md->broker_cnt, bootstrap);
    else
        fprintf(stderr, "no Kafka broker answers at KAFKA_BOOTSTRAP=%s: %s\n", bootstrap,
                rd_kafka_err2str(e));
    if (md)
        rd_kafka_metadata_destroy(md);
    td_kafka_destroy(probe);
    return e == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : 1;
}

static void add_suites(void)
{
    td_test_suite("kafka_broker", suite_init, NULL);
    TD_TEST(test_topics_ensure_idempotent);
    TD_TEST(test_idempotent_produce);
    TD_TEST(test_murmur2_vectors);
    TD_TEST(test_murmur2_partitioning);
    TD_TEST(test_consumer_group_split);
    TD_TEST(test_transactional_round);
    TD_TEST(test_fencing);
}

TD_TEST_MAIN(add_suites)
