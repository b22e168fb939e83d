/* Unit tests of td_kafka's configuration side: props, td_kafka_conf_apply,
 * the producer/consumer conf builders, client creation and the log route.
 * No broker: nothing here connects anywhere. */
#include "td_kafka.h"
#include "td_log.h"
#include "td_test.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* Reads key from conf; "" when unset. */
static const char *conf_value(const rd_kafka_conf_t *conf, const char *key)
{
    static char buf[512];
    size_t n = sizeof(buf);

    if (rd_kafka_conf_get(conf, key, buf, &n) != RD_KAFKA_CONF_OK)
        buf[0] = '\0';
    return buf;
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* ---- props ---------------------------------------------------------------- */

static void test_props_add_replace_clear(void)
{
    td_kafka_props p = { 0 };

    CU_ASSERT_EQUAL(td_kafka_props_add(&p, "linger.ms", "5", "a.yaml:2:3"), 0);
    CU_ASSERT_EQUAL(td_kafka_props_add(&p, "client.id", "x", NULL), 0);
    CU_ASSERT_EQUAL(td_kafka_props_add(&p, "queue.buffering.max.ms", "9", "a.yaml:4:3"), 0);
    CU_ASSERT_EQUAL(p.n, 3);
    CU_ASSERT_STRING_EQUAL(p.v[0].key, "linger.ms");
    CU_ASSERT_STRING_EQUAL(p.v[0].origin, "a.yaml:2:3");
    CU_ASSERT_PTR_NULL(p.v[1].origin);

    /* Replacing keeps one entry per key, takes the new value and origin, and
     * moves the key to the end: it is now the last one written. */
    CU_ASSERT_EQUAL(td_kafka_props_add(&p, "linger.ms", "7", "b.yaml:9:1"), 0);
    CU_ASSERT_EQUAL(p.n, 3);
    CU_ASSERT_STRING_EQUAL(p.v[0].key, "client.id");
    CU_ASSERT_STRING_EQUAL(p.v[1].key, "queue.buffering.max.ms");
    CU_ASSERT_STRING_EQUAL(p.v[2].key, "linger.ms");
    CU_ASSERT_STRING_EQUAL(p.v[2].value, "7");
    CU_ASSERT_STRING_EQUAL(p.v[2].origin, "b.yaml:9:1");
    CU_ASSERT_PTR_NOT_NULL(td_kafka_props_find(&p, "client.id"));
    CU_ASSERT_PTR_NULL(td_kafka_props_find(&p, "client"));
    CU_ASSERT_PTR_NULL(td_kafka_props_find(NULL, "client.id"));

    /* Replacing with a NULL origin drops the old origin. */
    CU_ASSERT_EQUAL(td_kafka_props_add(&p, "client.id", "y", NULL), 0);
    CU_ASSERT_PTR_NULL(td_kafka_props_find(&p, "client.id")->origin);
    CU_ASSERT_STRING_EQUAL(td_kafka_props_find(&p, "client.id")->value, "y");

    td_kafka_props_clear(&p);
    CU_ASSERT_EQUAL(p.n, 0);
    CU_ASSERT_PTR_NULL(p.v);
    td_kafka_props_clear(&p); /* twice is fine */
    td_kafka_props_clear(NULL);

    /* usable again after clear */
    CU_ASSERT_EQUAL(td_kafka_props_add(&p, "acks", "all", NULL), 0);
    CU_ASSERT_EQUAL(p.n, 1);
    td_kafka_props_clear(&p);
}

static void test_props_bad_arguments(void)
{
    td_kafka_props p = { 0 };

    CU_ASSERT_EQUAL(td_kafka_props_add(NULL, "a", "b", NULL), -EINVAL);
    CU_ASSERT_EQUAL(td_kafka_props_add(&p, NULL, "b", NULL), -EINVAL);
    CU_ASSERT_EQUAL(td_kafka_props_add(&p, "a", NULL, NULL), -EINVAL);
    CU_ASSERT_EQUAL(p.n, 0);
}

static void test_secret_keys(void)
{
    CU_ASSERT_TRUE(td_kafka_key_is_secret("ssl.key.password"));
    CU_ASSERT_TRUE(td_kafka_key_is_secret("sasl.password"));
    CU_ASSERT_TRUE(td_kafka_key_is_secret("ssl.keystore.password"));
    CU_ASSERT_TRUE(td_kafka_key_is_secret("ssl.key.pem"));
    CU_ASSERT_TRUE(td_kafka_key_is_secret("sasl.oauthbearer.client.secret"));
    CU_ASSERT_TRUE(td_kafka_key_is_secret("sasl.oauthbearer.config"));
    CU_ASSERT_TRUE(td_kafka_key_is_secret("SASL.PASSWORD"));
    CU_ASSERT_FALSE(td_kafka_key_is_secret("sasl.username"));
    CU_ASSERT_FALSE(td_kafka_key_is_secret("linger.ms"));
    CU_ASSERT_FALSE(td_kafka_key_is_secret("bootstrap.servers"));
    CU_ASSERT_FALSE(td_kafka_key_is_secret(NULL));
}

/* ---- td_kafka_conf_apply ---------------------------------------------------- */

static void test_apply_accepts_good_keys(void)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    td_kafka_props p = { 0 };
    td_error err = { 0 };

    td_kafka_props_add(&p, "client.id", "tuodi-test", "t.yaml:1:1");
    td_kafka_props_add(&p, "linger.ms", "50", "t.yaml:2:1");
    td_kafka_props_add(&p, "compression.type", "zstd", "t.yaml:3:1"); /* topic-level */
    td_kafka_props_add(&p, "ssl.key.password", "hunter2", "t.yaml:4:1");
    CU_ASSERT_EQUAL(td_kafka_conf_apply(conf, &p, &err), 0);
    CU_ASSERT_EQUAL(err.code, 0);
    CU_ASSERT_STRING_EQUAL(conf_value(conf, "client.id"), "tuodi-test");
    CU_ASSERT_STRING_EQUAL(conf_value(conf, "linger.ms"), "50");
    CU_ASSERT_STRING_EQUAL(conf_value(conf, "compression.type"), "zstd");

    CU_ASSERT_EQUAL(td_kafka_conf_apply(conf, NULL, &err), 0); /* nothing to apply */
    CU_ASSERT_EQUAL(td_kafka_conf_apply(NULL, &p, &err), -EINVAL);
    td_kafka_props_clear(&p);
    rd_kafka_conf_destroy(conf);
}

static void test_apply_rejects_unknown_key(void)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    td_kafka_props p = { 0 };
    td_error err = { 0 };

    td_kafka_props_add(&p, "no.such.property", "1", "tuodi.yaml:12:5");
    CU_ASSERT_EQUAL(td_kafka_conf_apply(conf, &p, &err), -EINVAL);
    CU_ASSERT_EQUAL(err.code, -EINVAL);
    /* origin, our key, then librdkafka's own words */
    CU_ASSERT_STRING_EQUAL(err.msg, "tuodi.yaml:12:5: kafka.no.such.property: "
                                    "No such configuration property: \"no.such.property\"");
    td_kafka_props_clear(&p);
    rd_kafka_conf_destroy(conf);
}

static void test_apply_rejects_bad_value_and_stops_there(void)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    td_kafka_props p = { 0 };
    td_error err = { 0 };

    td_kafka_props_add(&p, "client.id", "first", "c.yaml:1:1");
    td_kafka_props_add(&p, "enable.idempotence", "perhaps", "c.yaml:2:21");
    td_kafka_props_add(&p, "linger.ms", "77", "c.yaml:3:1");
    CU_ASSERT_EQUAL(td_kafka_conf_apply(conf, &p, &err), -EINVAL);
    CU_ASSERT_STRING_EQUAL(err.msg, "c.yaml:2:21: kafka.enable.idempotence: "
                                    "Expected bool value for \"enable.idempotence\": "
                                    "true or false");
    /* the props before the bad one are applied, the ones after are not */
    CU_ASSERT_STRING_EQUAL(conf_value(conf, "client.id"), "first");
    CU_ASSERT_STRING_NOT_EQUAL(conf_value(conf, "linger.ms"), "77");

    /* an enum value: librdkafka quotes the value itself */
    td_kafka_props_clear(&p);
    td_kafka_props_add(&p, "isolation.level", "dirty", "c.yaml:4:1");
    CU_ASSERT_EQUAL(td_kafka_conf_apply(conf, &p, &err), -EINVAL);
    CU_ASSERT_STRING_EQUAL(err.msg, "c.yaml:4:1: kafka.isolation.level: Invalid value "
                                    "\"dirty\" for configuration property "
                                    "\"isolation.level\"");
    td_kafka_props_clear(&p);
    rd_kafka_conf_destroy(conf);
}

static void test_apply_without_origin(void)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    td_kafka_props p = { 0 };
    td_error err = { 0 };

    td_kafka_props_add(&p, "linger.ms", "soon", NULL);
    CU_ASSERT_EQUAL(td_kafka_conf_apply(conf, &p, &err), -EINVAL);
    CU_ASSERT_TRUE(starts_with(err.msg, "kafka.linger.ms: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "Invalid value"));
    td_kafka_props_clear(&p);
    rd_kafka_conf_destroy(conf);
}

static void test_secret_values_not_echoed(void)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    td_kafka_props p = { 0 };
    td_error err = { 0 };

    /* librdkafka 2.0.2 does not quote string values in its rejections, but
     * it quotes the key: a value that also occurs in a secret key's name
     * shows that whatever librdkafka echoes is masked. */
    static const char secret_prefix[] = "s.yaml:1:1: kafka.my.hunter2.password: ";
    static const char plain_prefix[] = "s.yaml:2:1: kafka.my.hunter2.colour: ";

    td_kafka_props_add(&p, "my.hunter2.password", "hunter2", "s.yaml:1:1");
    CU_ASSERT_EQUAL(td_kafka_conf_apply(conf, &p, &err), -EINVAL);
    /* our prefix names the key; librdkafka's part must not show the value */
    CU_ASSERT_TRUE_FATAL(starts_with(err.msg, secret_prefix));
    CU_ASSERT_STRING_EQUAL(err.msg + strlen(secret_prefix),
                           "No such configuration property: \"my.***.password\"");

    /* The same shape with a key that is not secret is echoed as is. */
    td_kafka_props_clear(&p);
    td_kafka_props_add(&p, "my.hunter2.colour", "hunter2", "s.yaml:2:1");
    CU_ASSERT_EQUAL(td_kafka_conf_apply(conf, &p, &err), -EINVAL);
    CU_ASSERT_TRUE_FATAL(starts_with(err.msg, plain_prefix));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg + strlen(plain_prefix), "hunter2"));

    /* An invariant violation next to a secret: the secret never shows. */
    td_kafka_props_clear(&p);
    td_kafka_props_add(&p, "sasl.password", "hunter2", "s.yaml:3:1");
    td_kafka_props_add(&p, "enable.idempotence", "false", "s.yaml:4:1");
    rd_kafka_conf_t *built = NULL;
    CU_ASSERT_EQUAL(td_kafka_producer_conf_new("127.0.0.1:9", NULL, &p, &built, &err), -EINVAL);
    CU_ASSERT_PTR_NULL(built);
    CU_ASSERT_PTR_NULL(strstr(err.msg, "hunter2"));
    td_kafka_props_clear(&p);
    rd_kafka_conf_destroy(conf);
}

/* ---- conf builders ------------------------------------------------------- */

static void test_producer_defaults_and_invariants(void)
{
    rd_kafka_conf_t *conf = NULL;
    td_error err = { 0 };

    CU_ASSERT_EQUAL(td_kafka_producer_conf_new("127.0.0.1:9", "tuodi-tx-1", NULL, &conf, &err), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(conf);
    CU_ASSERT_STRING_EQUAL(conf_value(conf, "bootstrap.servers"), "127.0.0.1:9");
    CU_ASSERT_STRING_EQUAL(conf_value(conf, "linger.ms"), "20");
    /* a producer's metadata request never makes a broker create a topic */
    CU_ASSERT_STRING_EQUAL(conf_value(conf, "allow.auto.create.topics"), "false");
    CU_ASSERT_STRING_EQUAL(conf_value(conf, "batch.size"), "1000000");
    CU_ASSERT_STRING_EQUAL(conf_value(conf, "compression.type"), "lz4");
    CU_ASSERT_STRING_EQUAL(conf_value(conf, "enable.idempotence"), "true");
    CU_ASSERT_STRING_EQUAL(conf_value(conf, "acks"), "-1"); /* all */
    CU_ASSERT_STRING_EQUAL(conf_value(conf, "partitioner"), "murmur2_random");
    CU_ASSERT_STRING_EQUAL(conf_value(conf, "transactional.id"), "tuodi-tx-1");
    /* a crashed broker's successor is found within 2 s of Kafka moving on */
    CU_ASSERT_STRING_EQUAL(conf_value(conf, "reconnect.backoff.max.ms"), "2000");
    CU_ASSERT_STRING_EQUAL(conf_value(conf, "socket.connection.setup.timeout.ms"), "10000");
    rd_kafka_conf_destroy(conf);

    /* idempotent only: no transactional.id */
    conf = NULL;
    CU_ASSERT_EQUAL(td_kafka_producer_conf_new(NULL, NULL, NULL, &conf, &err), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(conf);
    CU_ASSERT_STRING_EQUAL(conf_value(conf, "transactional.id"), "");
    CU_ASSERT_STRING_EQUAL(conf_value(conf, "enable.idempotence"), "true");
    rd_kafka_conf_destroy(conf);

    CU_ASSERT_EQUAL(td_kafka_producer_conf_new(NULL, "", NULL, &conf, &err), -EINVAL);
    CU_ASSERT_EQUAL(td_kafka_producer_conf_new(NULL, NULL, NULL, NULL, &err), -EINVAL);
}

/* Every client sends each request at once (TCP_NODELAY), as Java's clients
 * do. Over TLS librdkafka writes a request as several TLS records, and with
 * Nagle's algorithm the later ones waited for the broker's delayed ACK:
 * tuodi-matchd's alert latency on the secured dev broker was p50 240-260 ms
 * against 85-90 ms with plaintext, and 85-90 ms once disabled
 * (docs/benchmarks.md). A user may still turn it back on. */
static void test_nagle_disabled(void)
{
    rd_kafka_conf_t *conf = NULL;
    td_kafka_props p = { 0 };
    td_error err = { 0 };

    CU_ASSERT_EQUAL(td_kafka_producer_conf_new(NULL, "tx", NULL, &conf, &err), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(conf);
    CU_ASSERT_STRING_EQUAL(conf_value(conf, "socket.nagle.disable"), "true");
    rd_kafka_conf_destroy(conf);
    conf = NULL;
    CU_ASSERT_EQUAL(td_kafka_consumer_conf_new(NULL, "grp", NULL, &conf, &err), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(conf);
    CU_ASSERT_STRING_EQUAL(conf_value(conf, "socket.nagle.disable"), "true");
    rd_kafka_conf_destroy(conf);
    conf = NULL;
    td_kafka_props_add(&p, "socket.nagle.disable", "false", "n.yaml:1:1");
    CU_ASSERT_EQUAL(td_kafka_consumer_conf_new(NULL, "grp", &p, &conf, &err), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(conf);
    CU_ASSERT_STRING_EQUAL(conf_value(conf, "socket.nagle.disable"), "false");
    rd_kafka_conf_destroy(conf);
    td_kafka_props_clear(&p);
}

static void test_producer_user_overrides_win(void)
{
    rd_kafka_conf_t *conf = NULL;
    td_kafka_props p = { 0 };
    td_error err = { 0 };

    td_kafka_props_add(&p, "linger.ms", "5", "u.yaml:1:1");
    td_kafka_props_add(&p, "compression.type", "zstd", "u.yaml:2:1");
    td_kafka_props_add(&p, "bootstrap.servers", "10.0.0.1:9092", "u.yaml:3:1");
    td_kafka_props_add(&p, "reconnect.backoff.max.ms", "10000", "u.yaml:6:1");
    td_kafka_props_add(&p, "acks", "all", "u.yaml:4:1"); /* same as required: fine */
    td_kafka_props_add(&p, "enable.idempotence", "true", "u.yaml:5:1");
    CU_ASSERT_EQUAL(td_kafka_producer_conf_new("127.0.0.1:9", "tx", &p, &conf, &err), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(conf);
    CU_ASSERT_STRING_EQUAL(conf_value(conf, "linger.ms"), "5");
    CU_ASSERT_STRING_EQUAL(conf_value(conf, "compression.type"), "zstd");
    CU_ASSERT_STRING_EQUAL(conf_value(conf, "bootstrap.servers"), "10.0.0.1:9092");
    CU_ASSERT_STRING_EQUAL(conf_value(conf, "reconnect.backoff.max.ms"), "10000");
    CU_ASSERT_STRING_EQUAL(conf_value(conf, "batch.size"), "1000000"); /* untouched default */
    rd_kafka_conf_destroy(conf);
    td_kafka_props_clear(&p);
}

/* Builds a producer conf from one prop and expects the invariant rejection. */
static void expect_producer_rejects(const char *tid, const char *key, const char *value,
                                    const char *expected_msg)
{
    rd_kafka_conf_t *conf = NULL;
    td_kafka_props p = { 0 };
    td_error err = { 0 };

    td_kafka_props_add(&p, "linger.ms", "1", "r.yaml:1:1");
    td_kafka_props_add(&p, key, value, "r.yaml:2:3");
    CU_ASSERT_EQUAL(td_kafka_producer_conf_new(NULL, tid, &p, &conf, &err), -EINVAL);
    CU_ASSERT_PTR_NULL(conf);
    CU_ASSERT_STRING_EQUAL(err.msg, expected_msg);
    td_kafka_props_clear(&p);
}

static void test_producer_invariants_rejected(void)
{
    expect_producer_rejects("tx", "enable.idempotence", "false",
                            "r.yaml:2:3: kafka.enable.idempotence: tuodi requires "
                            "enable.idempotence=true; remove this setting");
    /* through an alias of acks */
    expect_producer_rejects("tx", "request.required.acks", "1",
                            "r.yaml:2:3: kafka.request.required.acks: tuodi requires "
                            "acks=all; remove this setting");
    expect_producer_rejects("tx", "partitioner", "consistent_random",
                            "r.yaml:2:3: kafka.partitioner: tuodi requires "
                            "partitioner=murmur2_random; remove this setting");
    expect_producer_rejects("tx", "transactional.id", "mine",
                            "r.yaml:2:3: kafka.transactional.id: tuodi requires "
                            "transactional.id=tx; remove this setting");
    expect_producer_rejects(NULL, "transactional.id", "mine",
                            "r.yaml:2:3: kafka.transactional.id: transactional.id is set by "
                            "tuodi, not here; remove this setting");
}

static void test_consumer_defaults_and_overrides(void)
{
    rd_kafka_conf_t *conf = NULL;
    td_kafka_props p = { 0 };
    td_error err = { 0 };

    CU_ASSERT_EQUAL(td_kafka_consumer_conf_new("127.0.0.1:9", "grp", NULL, &conf, &err), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(conf);
    CU_ASSERT_STRING_EQUAL(conf_value(conf, "group.id"), "grp");
    CU_ASSERT_STRING_EQUAL(conf_value(conf, "isolation.level"), "read_committed");
    CU_ASSERT_STRING_EQUAL(conf_value(conf, "enable.auto.commit"), "false");
    CU_ASSERT_STRING_EQUAL(conf_value(conf, "auto.offset.reset"), "smallest"); /* earliest */
    CU_ASSERT_STRING_EQUAL(conf_value(conf, "partition.assignment.strategy"), "roundrobin");
    CU_ASSERT_STRING_EQUAL(conf_value(conf, "reconnect.backoff.max.ms"), "2000");
    CU_ASSERT_STRING_EQUAL(conf_value(conf, "socket.connection.setup.timeout.ms"), "10000");
    rd_kafka_conf_destroy(conf);

    conf = NULL;
    td_kafka_props_add(&p, "auto.offset.reset", "latest", "k.yaml:1:1");
    td_kafka_props_add(&p, "partition.assignment.strategy", "range", "k.yaml:2:1");
    td_kafka_props_add(&p, "session.timeout.ms", "12000", "k.yaml:3:1");
    CU_ASSERT_EQUAL(td_kafka_consumer_conf_new("127.0.0.1:9", "grp", &p, &conf, &err), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(conf);
    CU_ASSERT_STRING_EQUAL(conf_value(conf, "auto.offset.reset"), "largest"); /* latest */
    CU_ASSERT_STRING_EQUAL(conf_value(conf, "partition.assignment.strategy"), "range");
    CU_ASSERT_STRING_EQUAL(conf_value(conf, "session.timeout.ms"), "12000");
    CU_ASSERT_STRING_EQUAL(conf_value(conf, "isolation.level"), "read_committed");
    rd_kafka_conf_destroy(conf);
    td_kafka_props_clear(&p);
}

static void expect_consumer_rejects(const char *key, const char *value, const char *expected)
{
    rd_kafka_conf_t *conf = NULL;
    td_kafka_props p = { 0 };
    td_error err = { 0 };

    td_kafka_props_add(&p, key, value, "k.yaml:7:9");
    CU_ASSERT_EQUAL(td_kafka_consumer_conf_new(NULL, "grp", &p, &conf, &err), -EINVAL);
    CU_ASSERT_PTR_NULL(conf);
    CU_ASSERT_TRUE(starts_with(err.msg, expected));
    if (!starts_with(err.msg, expected))
        fprintf(stderr, "\n  got: %s\n", err.msg);
    td_kafka_props_clear(&p);
}

static void test_consumer_invariants_rejected(void)
{
    rd_kafka_conf_t *conf = NULL;
    td_error err = { 0 };

    expect_consumer_rejects("isolation.level", "read_uncommitted",
                            "k.yaml:7:9: kafka.isolation.level: tuodi requires "
                            "isolation.level=read_committed");
    expect_consumer_rejects("enable.auto.commit", "true",
                            "k.yaml:7:9: kafka.enable.auto.commit: tuodi requires "
                            "enable.auto.commit=false");
    expect_consumer_rejects("group.id", "other",
                            "k.yaml:7:9: kafka.group.id: tuodi requires group.id=grp");
    expect_consumer_rejects("partition.assignment.strategy", "cooperative-sticky",
                            "k.yaml:7:9: kafka.partition.assignment.strategy: tuodi supports "
                            "only the eager strategies");
    CU_ASSERT_EQUAL(td_kafka_consumer_conf_new(NULL, NULL, NULL, &conf, &err), -EINVAL);
    CU_ASSERT_EQUAL(td_kafka_consumer_conf_new(NULL, "", NULL, &conf, &err), -EINVAL);
    CU_ASSERT_PTR_NULL(conf);
}

/* ---- clients and logging --------------------------------------------------- */

static pthread_mutex_t sink_lock = PTHREAD_MUTEX_INITIALIZER;
static char sink_seen[4096];
static int sink_level;

/* librdkafka may log from its own threads: take the lock. */
static void capture_sink(td_log_level level, const char *line, void *opaque)
{
    (void)opaque;
    pthread_mutex_lock(&sink_lock);
    if (!sink_seen[0] && strstr(line, "CONFWARN")) {
        snprintf(sink_seen, sizeof(sink_seen), "%s", line);
        sink_level = (int)level;
    }
    pthread_mutex_unlock(&sink_lock);
}

static void test_new_routes_logs_and_takes_conf(void)
{
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_t *rk = NULL;
    td_kafka_props p = { 0 };
    td_error err = { 0 };

    /* A producer property on a consumer makes librdkafka warn (CONFWARN)
     * from rd_kafka_new itself; the warning must arrive in td_log. */
    td_kafka_props_add(&p, "linger.ms", "3", NULL);
    CU_ASSERT_EQUAL(td_kafka_consumer_conf_new("127.0.0.1:9", "grp", &p, &conf, &err), 0);
    td_log_set_sink(capture_sink, NULL);
    CU_ASSERT_EQUAL(td_kafka_new(RD_KAFKA_CONSUMER, conf, &rk, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(rk);
    rk = td_kafka_destroy(rk);
    CU_ASSERT_PTR_NULL(rk);
    td_log_set_sink(NULL, NULL);
    pthread_mutex_lock(&sink_lock);
    CU_ASSERT_PTR_NOT_NULL(strstr(sink_seen, "warning: rdkafka: "));
    /* librdkafka names the property by its canonical name */
    CU_ASSERT_PTR_NOT_NULL(strstr(sink_seen, "queue.buffering.max.ms"));
    CU_ASSERT_EQUAL(sink_level, TD_LOG_WARNING);
    pthread_mutex_unlock(&sink_lock);
    td_kafka_props_clear(&p);

    /* A conflict that only rd_kafka_new checks: the conf is still consumed
     * (the sanitizer build proves nothing leaks). */
    td_kafka_props_add(&p, "max.in.flight.requests.per.connection", "50", NULL);
    CU_ASSERT_EQUAL(td_kafka_producer_conf_new("127.0.0.1:9", "tx", &p, &conf, &err), 0);
    CU_ASSERT_EQUAL(td_kafka_new(RD_KAFKA_PRODUCER, conf, &rk, &err), -EINVAL);
    CU_ASSERT_PTR_NULL(rk);
    CU_ASSERT_TRUE(starts_with(err.msg, "kafka producer: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "max.in.flight"));
    td_kafka_props_clear(&p);

    /* A producer that is fine: created and destroyed without a broker. */
    CU_ASSERT_EQUAL(td_kafka_producer_conf_new("127.0.0.1:9", NULL, NULL, &conf, &err), 0);
    CU_ASSERT_EQUAL(td_kafka_new(RD_KAFKA_PRODUCER, conf, &rk, &err), 0);
    CU_ASSERT_PTR_NULL(td_kafka_destroy(rk));
    CU_ASSERT_PTR_NULL(td_kafka_destroy(NULL));
    CU_ASSERT_EQUAL(td_kafka_new(RD_KAFKA_PRODUCER, NULL, &rk, &err), -EINVAL);
}

/* td_kafka_message_size is exactly what librdkafka compares with
 * message.max.bytes: a message of that size is taken, one byte more is
 * refused ("Message size too large"), for keys, values and headers of
 * several sizes (the connector relies on it to never have a message
 * refused). No broker: produce only queues. */
static void test_message_size_agrees_with_librdkafka(void)
{
    static const size_t values[] = {0, 1, 100, 5000, 70000};
    static const size_t keys[] = {0, 18, 200};
    static const size_t hvals[] = {0, 1, 63, 64, 1024, 9000};
    static char buf[100000]; /* more than limit */
    td_kafka_props p = {0};
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_t *rk = NULL;
    td_error err = {0};
    const size_t limit = 90000;
    char v[32];
    int checked = 0;

    memset(buf, 'x', sizeof(buf));
    snprintf(v, sizeof(v), "%zu", limit);
    td_kafka_props_add(&p, "message.max.bytes", v, NULL);
    CU_ASSERT_EQUAL_FATAL(td_kafka_producer_conf_new("127.0.0.1:9", NULL, &p, &conf, &err), 0);
    CU_ASSERT_EQUAL_FATAL(td_kafka_new(RD_KAFKA_PRODUCER, conf, &rk, &err), 0);
    for (size_t a = 0; a < sizeof(keys) / sizeof(keys[0]); a++)
        for (size_t b = 0; b < sizeof(values) / sizeof(values[0]); b++)
            for (size_t c = 0; c < sizeof(hvals) / sizeof(hvals[0]); c++) {
                rd_kafka_headers_t *h = rd_kafka_headers_new(4);
                size_t size, pad;

                rd_kafka_header_add(h, "tuodi.reason", -1, buf, (ssize_t)hvals[c]);
                rd_kafka_header_add(h, "tuodi.row", -1, "12345", -1);
                size = td_kafka_message_size(keys[a], values[b], h);
                CU_ASSERT_FATAL(size < limit);
                /* pad the value so that the message is exactly limit bytes,
                 * then one byte more */
                pad = values[b] + (limit - size);
                CU_ASSERT_EQUAL(td_kafka_message_size(keys[a], pad, h), limit);
                CU_ASSERT_EQUAL(td_kafka_produce(rk, "t", keys[a] ? buf : NULL, keys[a], buf,
                                                 pad + 1, h),
                                RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
                /* refused: the headers are still ours */
                CU_ASSERT_EQUAL(td_kafka_produce(rk, "t", keys[a] ? buf : NULL, keys[a], buf,
                                                 pad, h),
                                RD_KAFKA_RESP_ERR_NO_ERROR);
                checked++;
            }
    CU_ASSERT_EQUAL(checked, 90);
    rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE);
    td_kafka_destroy(rk);
    td_kafka_props_clear(&p);
}

static void test_batch_overhead(void)
{
    /* the record batch header at least, and lz4's worst case on 1 MB */
    CU_ASSERT(td_kafka_batch_overhead(0) >= 61);
    CU_ASSERT(td_kafka_batch_overhead(1000000) >= 61 + 1000000 / 255 + 16);
    /* Kafka's defaults agree: a 1,000,000-byte producer batch fits a topic
     * of 1,048,588 */
    CU_ASSERT(1000000 + td_kafka_batch_overhead(1000000) <=
              TD_KAFKA_BROKER_DEFAULT_MAX_MESSAGE_BYTES);
}

static void test_txn_classify_null(void)
{
    CU_ASSERT_EQUAL(td_kafka_txn_classify(NULL), TD_KAFKA_TXN_OK);
}

/* Which errors are refusals, and the line a refusal makes: the user, the
 * operation and the resource, never the password; the first is kept for
 * td_kafka_refused (process-wide: this test runs last). */
static void test_refusals(void)
{
    td_kafka_props props = {0};
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_t *rk = NULL;
    td_error err = {0};

    CU_ASSERT_TRUE(td_kafka_err_is_refusal(RD_KAFKA_RESP_ERR__AUTHENTICATION));
    CU_ASSERT_TRUE(td_kafka_err_is_refusal(RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED));
    CU_ASSERT_TRUE(td_kafka_err_is_refusal(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED));
    CU_ASSERT_TRUE(td_kafka_err_is_refusal(RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED));
    CU_ASSERT_TRUE(td_kafka_err_is_refusal(RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED));
    CU_ASSERT_TRUE(
        td_kafka_err_is_refusal(RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED));
    CU_ASSERT_FALSE(td_kafka_err_is_refusal(RD_KAFKA_RESP_ERR__TRANSPORT));
    CU_ASSERT_FALSE(td_kafka_err_is_refusal(RD_KAFKA_RESP_ERR__TIMED_OUT));
    CU_ASSERT_FALSE(td_kafka_err_is_refusal(RD_KAFKA_RESP_ERR__SSL)); /* not all are */
    CU_ASSERT_FALSE(td_kafka_err_is_refusal(RD_KAFKA_RESP_ERR_NO_ERROR));

    CU_ASSERT_EQUAL(td_kafka_refused(&err), 0);
    CU_ASSERT_FATAL(td_kafka_props_add(&props, "security.protocol", "sasl_ssl", NULL) == 0);
    CU_ASSERT_FATAL(td_kafka_props_add(&props, "sasl.mechanisms", "PLAIN", NULL) == 0);
    CU_ASSERT_FATAL(td_kafka_props_add(&props, "sasl.username", "county-340421", NULL) == 0);
    CU_ASSERT_FATAL(td_kafka_props_add(&props, "sasl.password", "s3cret-pw", NULL) == 0);
    CU_ASSERT_FATAL(td_kafka_producer_conf_new("127.0.0.1:9", NULL, &props, &conf, &err) == 0);
    CU_ASSERT_FATAL(td_kafka_new(RD_KAFKA_PRODUCER, conf, &rk, &err) == 0);

    CU_ASSERT_EQUAL(td_kafka_refusal_error(rk, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
                                           "Read", "topic tuodi.alerts.340422",
                                           "[thrd:main]: Broker: Topic authorization failed",
                                           &err),
                    -EACCES);
    CU_ASSERT_STRING_EQUAL(err.msg, "kafka: not authorised: user \"county-340421\" may not "
                                    "Read topic tuodi.alerts.340422 "
                                    "(TOPIC_AUTHORIZATION_FAILED): Broker: Topic authorization "
                                    "failed: the brokers' ACLs do not allow it "
                                    "(docs/security.md); not retrying");
    CU_ASSERT_EQUAL(td_kafka_refusal_error(rk, RD_KAFKA_RESP_ERR__AUTHENTICATION, NULL, NULL,
                                           "SASL authentication error: Invalid username or "
                                           "password", &err),
                    -EACCES);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "kafka: authentication failed for user "
                                           "\"county-340421\" (kafka.sasl.username): SASL"));
    CU_ASSERT_PTR_NULL(strstr(err.msg, "s3cret-pw"));
    CU_ASSERT_PTR_NULL(strstr(err.msg, "SCRAM fails")); /* PLAIN: no SCRAM hint */

    /* the first one is what the process remembers */
    CU_ASSERT_EQUAL(td_kafka_refused(&err), -EACCES);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "may not Read topic tuodi.alerts.340422"));
    CU_ASSERT_EQUAL(td_kafka_refused(NULL), -EACCES);
    td_kafka_destroy(rk);
    td_kafka_props_clear(&props);
}

/* A reload names the first kafka: setting that changed (it waits for a
 * restart), whatever the order; nothing when they are the same. */
static void test_props_changed(void)
{
    td_kafka_props a = {0}, b = {0};
    CU_ASSERT_PTR_NULL(td_kafka_props_changed(&a, &b));
    CU_ASSERT_PTR_NULL(td_kafka_props_changed(NULL, NULL));
    CU_ASSERT_FATAL(td_kafka_props_add(&a, "bootstrap.servers", "k:9093", NULL) == 0);
    CU_ASSERT_FATAL(td_kafka_props_add(&a, "sasl.password", "old", NULL) == 0);
    CU_ASSERT_FATAL(td_kafka_props_add(&b, "sasl.password", "old", NULL) == 0);
    CU_ASSERT_FATAL(td_kafka_props_add(&b, "bootstrap.servers", "k:9093", NULL) == 0);
    CU_ASSERT_PTR_NULL(td_kafka_props_changed(&a, &b));
    CU_ASSERT_FATAL(td_kafka_props_add(&b, "sasl.password", "new", NULL) == 0);
    CU_ASSERT_STRING_EQUAL(td_kafka_props_changed(&a, &b), "sasl.password");
    CU_ASSERT_FATAL(td_kafka_props_add(&b, "sasl.password", "old", NULL) == 0);
    CU_ASSERT_FATAL(td_kafka_props_add(&b, "ssl.ca.location", "/etc/tuodi/ca.pem", NULL) == 0);
    CU_ASSERT_STRING_EQUAL(td_kafka_props_changed(&a, &b), "ssl.ca.location");
    CU_ASSERT_STRING_EQUAL(td_kafka_props_changed(&b, &a), "ssl.ca.location");
    CU_ASSERT_STRING_EQUAL(td_kafka_props_changed(&a, NULL), "bootstrap.servers");
    td_kafka_props_clear(&a);
    td_kafka_props_clear(&b);
}

static void add_suites(void)
{
    td_test_suite("kafka_props", NULL, NULL);
    TD_TEST(test_props_add_replace_clear);
    TD_TEST(test_props_bad_arguments);
    TD_TEST(test_secret_keys);
    TD_TEST(test_props_changed);

    td_test_suite("kafka_conf_apply", NULL, NULL);
    TD_TEST(test_apply_accepts_good_keys);
    TD_TEST(test_apply_rejects_unknown_key);
    TD_TEST(test_apply_rejects_bad_value_and_stops_there);
    TD_TEST(test_apply_without_origin);
    TD_TEST(test_secret_values_not_echoed);

    td_test_suite("kafka_conf_build", NULL, NULL);
    TD_TEST(test_producer_defaults_and_invariants);
    TD_TEST(test_producer_user_overrides_win);
    TD_TEST(test_nagle_disabled);
    TD_TEST(test_producer_invariants_rejected);
    TD_TEST(test_consumer_defaults_and_overrides);
    TD_TEST(test_consumer_invariants_rejected);

    td_test_suite("kafka_client", NULL, NULL);
    TD_TEST(test_new_routes_logs_and_takes_conf);
    TD_TEST(test_txn_classify_null);
    TD_TEST(test_message_size_agrees_with_librdkafka);
    TD_TEST(test_batch_overhead);

    td_test_suite("kafka_refusals", NULL, NULL);
    TD_TEST(test_refusals);
}

TD_TEST_MAIN(add_suites)
