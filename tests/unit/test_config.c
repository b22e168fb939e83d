/* Unit tests for td_config: the table-driven YAML loader.
 *
 * Every error kind is checked for its exact file:line:col and a key phrase;
 * the suite also runs under ASan+UBSan, which checks td_config_free() and the
 * failure paths for leaks. */
#include "td_config.h"
#include "td_test.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A table that uses every kind of entry. */

struct t_src {
    char *name;
    int64_t port;
    char **topics;
    size_t n_topics;
    td_kafka_props kafka;
};

struct t_ks {
    char *bootstrap_servers;
    char *client_id;
    int64_t retries;
};

struct t_cfg {
    char *group_id;
    int64_t workers;
    int64_t start_offset;
    bool enabled;
    int level;
    int64_t timeout_ms;
    int64_t buffer;
    char *spool_dir;
    char *password;
    int64_t pin;
    struct t_ks ks;
    char **tags;
    size_t n_tags;
    struct t_src *sources;
    size_t n_sources;
    td_kafka_props kafka;
};

static const char *const levels[] = {"error", "warning", "info", "debug", NULL};

static const td_cfg_entry src_table[] = {
    TD_CFG_STRING("name", struct t_src, name, NULL, "Source name", TD_CFG_REQUIRED),
    TD_CFG_INT("port", struct t_src, port, "5432", 1, 65535, "TCP port"),
    TD_CFG_STRINGS("topics", struct t_src, topics, n_topics, "Topics to write"),
    TD_CFG_KAFKA("kafka", struct t_src, kafka, "librdkafka properties of this source"),
    TD_CFG_END,
};

static const td_cfg_entry ks_table[] = {
    TD_CFG_STRING("bootstrap_servers", struct t_ks, bootstrap_servers, "localhost:9092",
                  "Brokers to start from"),
    TD_CFG_STRING("client_id", struct t_ks, client_id, NULL, "Client id"),
    TD_CFG_INT("retries", struct t_ks, retries, "3", 0, 100, "Retries"),
    TD_CFG_END,
};

static const td_cfg_entry table[] = {
    TD_CFG_STRING("group_id", struct t_cfg, group_id, "tuodi-test", "Consumer group id"),
    TD_CFG_INT("workers", struct t_cfg, workers, "4", 1, 64, "Worker threads"),
    TD_CFG_INT("start_offset", struct t_cfg, start_offset, NULL, INT64_MIN, INT64_MAX,
               "Where to start | anywhere"),
    TD_CFG_BOOL("enabled", struct t_cfg, enabled, "true", "Whether it runs"),
    TD_CFG_ENUM("level", struct t_cfg, level, "info", levels, "Log level"),
    TD_CFG_DURATION("timeout", struct t_cfg, timeout_ms, "30s", 1, 7 * 86400000LL,
                    "How long to wait"),
    TD_CFG_SIZE("buffer", struct t_cfg, buffer, "64MiB", 1024, INT64_MAX, "Buffer size"),
    TD_CFG_PATH("spool_dir", struct t_cfg, spool_dir, "spool", "Spool directory"),
    TD_CFG_STRING("password", struct t_cfg, password, NULL, "Database password",
                  TD_CFG_SECRET),
    TD_CFG_INT("pin", struct t_cfg, pin, NULL, 0, 9999, "A secret number", TD_CFG_SECRET),
    TD_CFG_SECTION("kafka_settings", struct t_cfg, ks, ks_table, "Kafka settings"),
    TD_CFG_STRINGS("tags", struct t_cfg, tags, n_tags, "Free tags"),
    TD_CFG_SECTIONS("sources", struct t_cfg, sources, n_sources, struct t_src, src_table,
                    "Where records come from"),
    TD_CFG_KAFKA("kafka", struct t_cfg, kafka, "librdkafka properties"),
    TD_CFG_END,
};

/* A table with required keys at the top and in a section. */

struct t_req_db {
    char *host;
    char *user;
};

struct t_req {
    char *brokers;
    struct t_req_db db;
};

static const td_cfg_entry req_db_table[] = {
    TD_CFG_STRING("host", struct t_req_db, host, NULL, "Host", TD_CFG_REQUIRED),
    TD_CFG_STRING("user", struct t_req_db, user, "tuodi", "User"),
    TD_CFG_END,
};

static const td_cfg_entry req_table[] = {
    TD_CFG_STRING("brokers", struct t_req, brokers, NULL, "Brokers", TD_CFG_REQUIRED),
    TD_CFG_SECTION("db", struct t_req, db, req_db_table, "Database"),
    TD_CFG_END,
};

/* Helpers. */

static int load(const char *yaml, struct t_cfg *c, td_error *err)
{
    memset(c, 0, sizeof(*c));
    td_error_clear(err);
    return td_config_load_string(table, "cfg.yaml", yaml, c, err);
}

static bool cfg_is_zero(const struct t_cfg *c)
{
    struct t_cfg z;

    memset(&z, 0, sizeof(z));
    return memcmp(c, &z, sizeof(z)) == 0;
}

static bool msg_has(const td_error *err, const char *needle)
{
    if (strstr(td_error_msg(err), needle))
        return true;
    fprintf(stderr, "\n    expected in the message: %s\n    got:\n%s\n", needle,
            td_error_msg(err));
    return false;
}

/* Loads yaml, expects failure with needle in the message and nothing left to
 * free in the struct. */
static void expect_error(const char *yaml, const char *needle)
{
    struct t_cfg c;
    td_error err;
    int r = load(yaml, &c, &err);

    CU_ASSERT_EQUAL(r, -EINVAL);
    CU_ASSERT_EQUAL(err.code, -EINVAL);
    CU_ASSERT_TRUE(msg_has(&err, needle));
    CU_ASSERT_TRUE(cfg_is_zero(&c));
    td_config_free(table, &c);
}

static size_t count_lines(const char *s)
{
    size_t n = *s ? 1 : 0;

    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static char *data_path(const char *file)
{
    char buf[4096];

    snprintf(buf, sizeof(buf), "%s/tests/unit/data/config/%s", td_test_source_root(), file);
    return strdup(buf);
}

static const char *prop(const td_kafka_props *p, const char *key)
{
    size_t i;

    for (i = 0; i < p->n; i++)
        if (!strcmp(p->v[i].key, key))
            return p->v[i].value;
    return NULL;
}

/* Tests: values and defaults. */

static void test_defaults(void)
{
    static const char *const empties[] = {"", "# nothing here\n", "---\n", "~\n", "{}\n"};
    size_t i;

    for (i = 0; i < sizeof(empties) / sizeof(*empties); i++) {
        struct t_cfg c;
        td_error err;

        CU_ASSERT_EQUAL_FATAL(load(empties[i], &c, &err), 0);
        CU_ASSERT_STRING_EQUAL(c.group_id, "tuodi-test");
        CU_ASSERT_EQUAL(c.workers, 4);
        CU_ASSERT_EQUAL(c.start_offset, 0);
        CU_ASSERT_TRUE(c.enabled);
        CU_ASSERT_EQUAL(c.level, 2);
        CU_ASSERT_EQUAL(c.timeout_ms, 30000);
        CU_ASSERT_EQUAL(c.buffer, 64 * 1024 * 1024);
        CU_ASSERT_STRING_EQUAL(c.spool_dir, "spool"); /* no dir in the name */
        CU_ASSERT_PTR_NULL(c.password);
        CU_ASSERT_STRING_EQUAL(c.ks.bootstrap_servers, "localhost:9092");
        CU_ASSERT_PTR_NULL(c.ks.client_id);
        CU_ASSERT_EQUAL(c.ks.retries, 3);
        CU_ASSERT_EQUAL(c.n_tags, 0);
        CU_ASSERT_PTR_NULL(c.tags);
        CU_ASSERT_EQUAL(c.n_sources, 0);
        CU_ASSERT_EQUAL(c.kafka.n, 0);
        CU_ASSERT_STRING_EQUAL(td_error_msg(&err), "");
        td_config_free(table, &c);
        CU_ASSERT_TRUE(cfg_is_zero(&c));
    }
}

static void test_values(void)
{
    struct t_cfg c;
    td_error err;
    const char *yaml =
        "group_id: matchd\n"
        "workers: \"8\"\n"
        "start_offset: -9223372036854775808\n"
        "enabled: false\n"
        "level: debug\n"
        "timeout: 1h30m\n"
        "buffer: 512k\n"
        "spool_dir: /var/spool/tuodi\n"
        "password: 'p@ss: word'\n"
        "pin: 1234\n"
        "kafka_settings:\n"
        "  client_id: \"\"\n"
        "  retries: 0\n"
        "tags: [a, \"b c\", '']\n"
        "sources:\n"
        "  - name: medical\n"
        "    topics: [t1, t2]\n"
        "    kafka: {linger.ms: 5}\n"
        "  - name: civil\n"
        "    port: 15432\n"
        "kafka:\n"
        "  acks: all\n"
        "  enable.idempotence: true\n"
        "  batch.num.messages: 1000\n";

    CU_ASSERT_EQUAL_FATAL(load(yaml, &c, &err), 0);
    CU_ASSERT_STRING_EQUAL(c.group_id, "matchd");
    CU_ASSERT_EQUAL(c.workers, 8); /* quoting does not change the type */
    CU_ASSERT_EQUAL(c.start_offset, INT64_MIN);
    CU_ASSERT_FALSE(c.enabled);
    CU_ASSERT_EQUAL(c.level, 3);
    CU_ASSERT_EQUAL(c.timeout_ms, 5400000);
    CU_ASSERT_EQUAL(c.buffer, 512 * 1024);
    CU_ASSERT_STRING_EQUAL(c.spool_dir, "/var/spool/tuodi");
    CU_ASSERT_STRING_EQUAL(c.password, "p@ss: word");
    CU_ASSERT_EQUAL(c.pin, 1234);
    CU_ASSERT_STRING_EQUAL(c.ks.bootstrap_servers, "localhost:9092");
    CU_ASSERT_STRING_EQUAL(c.ks.client_id, "");
    CU_ASSERT_EQUAL(c.ks.retries, 0);
    CU_ASSERT_EQUAL_FATAL(c.n_tags, 3);
    CU_ASSERT_STRING_EQUAL(c.tags[0], "a");
    CU_ASSERT_STRING_EQUAL(c.tags[1], "b c");
    CU_ASSERT_STRING_EQUAL(c.tags[2], "");
    CU_ASSERT_EQUAL_FATAL(c.n_sources, 2);
    CU_ASSERT_STRING_EQUAL(c.sources[0].name, "medical");
    CU_ASSERT_EQUAL(c.sources[0].port, 5432); /* element defaults */
    CU_ASSERT_EQUAL_FATAL(c.sources[0].n_topics, 2);
    CU_ASSERT_STRING_EQUAL(c.sources[0].topics[1], "t2");
    CU_ASSERT_EQUAL_FATAL(c.sources[0].kafka.n, 1);
    CU_ASSERT_STRING_EQUAL(c.sources[0].kafka.v[0].key, "linger.ms");
    CU_ASSERT_STRING_EQUAL(c.sources[0].kafka.v[0].value, "5");
    CU_ASSERT_STRING_EQUAL(c.sources[0].kafka.v[0].origin, "cfg.yaml:18:13");
    CU_ASSERT_STRING_EQUAL(c.sources[1].name, "civil");
    CU_ASSERT_EQUAL(c.sources[1].port, 15432);
    CU_ASSERT_EQUAL(c.sources[1].n_topics, 0);
    CU_ASSERT_EQUAL(c.kafka.n, 3);
    CU_ASSERT_STRING_EQUAL(prop(&c.kafka, "acks"), "all");
    CU_ASSERT_STRING_EQUAL(prop(&c.kafka, "enable.idempotence"), "true");
    CU_ASSERT_STRING_EQUAL(prop(&c.kafka, "batch.num.messages"), "1000");
    td_config_free(table, &c);
    CU_ASSERT_TRUE(cfg_is_zero(&c));
    td_config_free(table, &c); /* twice is harmless */
    td_config_free(table, NULL);
}

static void test_null_values(void)
{
    struct t_cfg c;
    td_error err;

    /* An empty section or list is the default. */
    CU_ASSERT_EQUAL_FATAL(load("kafka_settings:\ntags:\nsources:\nkafka:\n", &c, &err), 0);
    CU_ASSERT_STRING_EQUAL(c.ks.bootstrap_servers, "localhost:9092");
    CU_ASSERT_EQUAL(c.n_tags, 0);
    td_config_free(table, &c);
    /* A scalar without a value is an error, not silently the default. */
    expect_error("group_id:\n", "cfg.yaml:1:10: group_id: expected a string, got null");
    expect_error("workers: ~\n", "cfg.yaml:1:10: workers: expected an integer, got null");
    expect_error("tags: [a, null]\n", "cfg.yaml:1:11: tags[1]: expected a string, got null");
}

/* Tests: each error kind, with its position. */

static void test_unknown_key(void)
{
    expect_error("kafka_settings:\n"
                 "  client_id: x\n"
                 "  bootstrap_server: b:9092\n",
                 "cfg.yaml:3:3: unknown key \"bootstrap_server\" in \"kafka_settings\" "
                 "(did you mean \"bootstrap_servers\"?)");
    expect_error("group_id: g\nwrokers: 3\n",
                 "cfg.yaml:2:1: unknown key \"wrokers\" (did you mean \"workers\"?)");
    /* Nothing close: no suggestion. */
    {
        struct t_cfg c;
        td_error err;

        CU_ASSERT_EQUAL(load("colour: red\n", &c, &err), -EINVAL);
        CU_ASSERT_STRING_EQUAL(td_error_msg(&err), "cfg.yaml:1:1: unknown key \"colour\"");
    }
}

/* Regression (issue 10.8): a rules path pointing at /etc/shadow put 20 of its
 * lines (password hashes included) into matchd's log as "unknown key"
 * messages. A file none of whose keys is known is refused in one message
 * that quotes nothing of it. */
static void test_foreign_file_is_one_message(void)
{
    struct t_cfg c;
    td_error err;
    const char *shadow = "root:$y$j9T$SECRETSALT$SECRETHASHSECRETHASH:20228:0:99999:7:::\n"
                         "daemon:*:20228:0:99999:7:::\n"
                         "bin:*:20228:0:99999:7:::\n"
                         "nobody:*:20228:0:99999:7:::\n";

    CU_ASSERT_EQUAL(load(shadow, &c, &err), -EINVAL);
    CU_ASSERT_EQUAL(count_lines(td_error_msg(&err)), 1);
    CU_ASSERT_TRUE(msg_has(&err, "cfg.yaml:1:1: not a file of this kind: none of its 4 "
                                 "top-level keys is known"));
    CU_ASSERT_PTR_NULL(strstr(td_error_msg(&err), "SECRET"));
    CU_ASSERT_PTR_NULL(strstr(td_error_msg(&err), "daemon"));
    CU_ASSERT_PTR_NULL(strstr(td_error_msg(&err), "20228"));
    CU_ASSERT_TRUE(cfg_is_zero(&c));
}

/* An unknown key is quoted only when it looks like a key name, and then at
 * most 32 characters of it. */
static void test_unknown_key_quoted_short(void)
{
    struct t_cfg c;
    td_error err;

    CU_ASSERT_EQUAL(load("group_id: g\n"
                         "abcdefghijklmnopqrstuvwxyz0123456789abcdefghij: 1\n"
                         "root:$y$j9T$SECRET:20228:0:99999:7::: x\n", &c, &err), -EINVAL);
    CU_ASSERT_TRUE(msg_has(&err, "cfg.yaml:2:1: unknown key "
                                 "\"abcdefghijklmnopqrstuvwxyz012345...\"\n"));
    CU_ASSERT_TRUE(msg_has(&err, "cfg.yaml:3:1: unknown key of 36 characters that is not a "
                                 "key name (not shown)"));
    CU_ASSERT_PTR_NULL(strstr(td_error_msg(&err), "SECRET"));
    CU_ASSERT_PTR_NULL(strstr(td_error_msg(&err), "6789"));
}

static void test_duplicate_key(void)
{
    expect_error("group_id: a\n"
                 "kafka_settings:\n"
                 "  retries: 1\n"
                 "  client_id: x\n"
                 "  bootstrap_servers: b\n"
                 "  client_id: y\n",
                 "cfg.yaml:6:3: duplicate key \"client_id\" (first at line 4, column 3)");
    /* Three times: both later ones point at the first. */
    {
        struct t_cfg c;
        td_error err;

        CU_ASSERT_EQUAL(load("workers: 1\ngroup_id: a\nworkers: 2\nworkers: 3\n", &c, &err),
                        -EINVAL);
        CU_ASSERT_STRING_EQUAL(td_error_msg(&err),
                               "cfg.yaml:3:1: duplicate key \"workers\" (first at line 1, "
                               "column 1)\n"
                               "cfg.yaml:4:1: duplicate key \"workers\" (first at line 1, "
                               "column 1)");
    }
    /* In flow style, and in a list element. */
    expect_error("kafka: {acks: all, acks: 1}\n",
                 "cfg.yaml:1:20: duplicate key \"acks\" (first at line 1, column 9)");
    expect_error("sources:\n  - name: a\n    name: b\n",
                 "cfg.yaml:3:5: duplicate key \"name\" (first at line 2, column 5)");
}

static void test_wrong_type(void)
{
    expect_error("workers: ten\n", "cfg.yaml:1:10: workers: expected an integer, got \"ten\"");
    expect_error("group_id: {a: 1}\n",
                 "cfg.yaml:1:11: group_id: expected a string, got a mapping");
    expect_error("group_id:\n  - a\n", "cfg.yaml:2:3: group_id: expected a string, got a list");
    expect_error("kafka_settings: 5\n",
                 "cfg.yaml:1:17: kafka_settings: expected a mapping, got a scalar");
    expect_error("tags: a\n", "cfg.yaml:1:7: tags: expected a list of strings, got a scalar");
    expect_error("tags: [a, [b]]\n", "cfg.yaml:1:11: tags[1]: expected a string, got a list");
    expect_error("sources: {name: a}\n",
                 "cfg.yaml:1:10: sources: expected a list of mappings, got a mapping");
    expect_error("sources: [a]\n", "cfg.yaml:1:11: sources[0]: expected a mapping, got a scalar");
    expect_error("kafka: [a]\n",
                 "cfg.yaml:1:8: kafka: expected a mapping of librdkafka properties, got a list");
    expect_error("- a\n", "cfg.yaml:1:1: expected a mapping of keys to values at the top, "
                          "got a list");
    expect_error("enabled: yes\n", "cfg.yaml:1:10: enabled: expected true or false, got \"yes\"");
    expect_error("enabled: 1\n", "cfg.yaml:1:10: enabled: expected true or false, got \"1\"");
    expect_error("? [a]\n: 1\n", "cfg.yaml:1:3: mapping keys must be plain strings, not a list");
    expect_error("group_id: \"a\\0b\"\n", "cfg.yaml:1:11: a NUL character (\\0) in a value");
    expect_error("workers: !!int 5\n", "cfg.yaml:1:10: YAML tags are not supported (\"tag:yaml.org,2002:int\")");
}

static void test_integers(void)
{
    struct t_cfg c;
    td_error err;

    expect_error("workers: 0x10\n", "cfg.yaml:1:10: workers: expected an integer, got \"0x10\"");
    expect_error("workers: +5\n", "cfg.yaml:1:10: workers: expected an integer, got \"+5\"");
    expect_error("workers: 1.5\n", "cfg.yaml:1:10: workers: expected an integer, got \"1.5\"");
    expect_error("workers: 1_000\n", "expected an integer, got \"1_000\"");
    expect_error("workers: 010\n",
                 "cfg.yaml:1:10: workers: expected an integer, got \"010\": leading zeros are "
                 "not allowed");
    expect_error("start_offset: 9223372036854775808\n",
                 "cfg.yaml:1:15: start_offset: expected an integer, got "
                 "\"9223372036854775808\": number too large");
    expect_error("start_offset: -9223372036854775809\n", "number too large");
    CU_ASSERT_EQUAL_FATAL(load("start_offset: 9223372036854775807\n", &c, &err), 0);
    CU_ASSERT_EQUAL(c.start_offset, INT64_MAX);
    td_config_free(table, &c);
    CU_ASSERT_EQUAL_FATAL(load("start_offset: -0\nworkers: 64\n", &c, &err), 0);
    CU_ASSERT_EQUAL(c.start_offset, 0);
    td_config_free(table, &c);
}

static void test_out_of_range(void)
{
    expect_error("workers: 65\n", "cfg.yaml:1:10: workers: 65 is out of range (1..64)");
    expect_error("workers: -1\n", "cfg.yaml:1:10: workers: -1 is out of range (1..64)");
    expect_error("workers: 0\n", "workers: 0 is out of range (1..64)");
    expect_error("timeout: 8d\n", "cfg.yaml:1:10: timeout: 8d is out of range (1ms..7d)");
    expect_error("timeout: 0\n", "cfg.yaml:1:10: timeout: 0 is out of range (1ms..7d)");
    expect_error("buffer: 1000\n", "cfg.yaml:1:9: buffer: 1000 is out of range (at least 1KiB)");
    expect_error("kafka_settings:\n  retries: 101\n",
                 "cfg.yaml:2:12: kafka_settings.retries: 101 is out of range (0..100)");
}

static void test_enum(void)
{
    expect_error("level: verbose\n",
                 "cfg.yaml:1:8: level: expected one of error, warning, info, debug; got "
                 "\"verbose\"");
    expect_error("level: warn\n", "got \"warn\" (did you mean \"warning\"?)");
    expect_error("level: INFO\n", "got \"INFO\"");
}

static void test_durations(void)
{
    static const struct {
        const char *text;
        int64_t ms;
    } ok[] = {
        {"250ms", 250}, {"30s", 30000}, {"5m", 300000}, {"2h", 7200000},
        {"1d", 86400000}, {"1500", 1500}, {"1h30m", 5400000}, {"\"1m 30s\"", 90000},
        {"\"30 s\"", 30000}, {"7d", 7 * 86400000LL},
    };
    size_t i;

    for (i = 0; i < sizeof(ok) / sizeof(*ok); i++) {
        struct t_cfg c;
        td_error err;
        char yaml[128];

        snprintf(yaml, sizeof(yaml), "timeout: %s\n", ok[i].text);
        CU_ASSERT_EQUAL_FATAL(load(yaml, &c, &err), 0);
        CU_ASSERT_EQUAL(c.timeout_ms, ok[i].ms);
        td_config_free(table, &c);
    }
    expect_error("timeout: 30x\n",
                 "cfg.yaml:1:10: timeout: invalid duration \"30x\": unknown unit \"x\" "
                 "(use ms, s, m, h or d)");
    expect_error("timeout: 1h30\n",
                 "timeout: invalid duration \"1h30\": a number without a unit");
    expect_error("timeout: s\n", "timeout: expected a duration (like \"30s\" or \"1h30m\"), "
                                 "got \"s\"");
    expect_error("timeout: \"\"\n", "timeout: expected a duration, got \"\"");
    expect_error("timeout: -5s\n", "expected a duration");
    expect_error("timeout: 30m1h\n",
                 "timeout: invalid duration \"30m1h\": units must go from the largest to "
                 "the smallest, each once");
    expect_error("timeout: 1.5s\n",
                 "timeout: invalid duration \"1.5s\": fractions are not supported");
    expect_error("timeout: 99999999999999999d\n",
                 "timeout: duration \"99999999999999999d\" is too large");
}

static void test_sizes(void)
{
    static const struct {
        const char *text;
        int64_t bytes;
    } ok[] = {
        {"512k", 524288}, {"512K", 524288}, {"64MiB", 67108864}, {"2G", 2147483648LL},
        {"1GiB", 1073741824}, {"1TiB", 1099511627776LL}, {"4096", 4096}, {"4096B", 4096},
        {"\"5 KiB\"", 5120},
    };
    size_t i;

    for (i = 0; i < sizeof(ok) / sizeof(*ok); i++) {
        struct t_cfg c;
        td_error err;
        char yaml[128];

        snprintf(yaml, sizeof(yaml), "buffer: %s\n", ok[i].text);
        CU_ASSERT_EQUAL_FATAL(load(yaml, &c, &err), 0);
        CU_ASSERT_EQUAL(c.buffer, ok[i].bytes);
        td_config_free(table, &c);
    }
    expect_error("buffer: 10MB\n",
                 "cfg.yaml:1:9: buffer: invalid size \"10MB\": \"MB\" is ambiguous (use MiB "
                 "for powers of 1024, or write the number of bytes)");
    expect_error("buffer: 10kB\n", "\"kB\" is ambiguous (use KiB");
    expect_error("buffer: 10m\n", "buffer: invalid size \"10m\": unknown unit \"m\"");
    expect_error("buffer: 16777216TiB\n", "buffer: size \"16777216TiB\" is too large");
    expect_error("buffer: 1.5GiB\n", "buffer: invalid size \"1.5GiB\": fractions are not "
                                     "supported");
}

static void test_missing_required(void)
{
    struct t_req r;
    td_error err;

    memset(&r, 0, sizeof(r));
    CU_ASSERT_EQUAL(td_config_load_string(req_table, "req.yaml", "db:\n  user: x\n", &r, &err),
                    -EINVAL);
    /* The top level map starts at 1:1, the db map at 2:3. */
    CU_ASSERT_STRING_EQUAL(td_error_msg(&err),
                           "req.yaml:1:1: missing required key \"brokers\"\n"
                           "req.yaml:2:3: missing required key \"host\" in \"db\"");
    CU_ASSERT_PTR_NULL(r.db.user);
    /* An empty file, and an absent section, still miss their keys. */
    CU_ASSERT_EQUAL(td_config_load_string(req_table, "req.yaml", "", &r, &err), -EINVAL);
    CU_ASSERT_STRING_EQUAL(td_error_msg(&err),
                           "req.yaml:1:1: missing required key \"brokers\"\n"
                           "req.yaml:1:1: missing required key \"host\" in \"db\"");
    CU_ASSERT_EQUAL(td_config_load_string(req_table, "req.yaml",
                                          "# a comment\nbrokers: b\n", &r, &err), -EINVAL);
    CU_ASSERT_STRING_EQUAL(td_error_msg(&err),
                           "req.yaml:2:1: missing required key \"host\" in \"db\"");
    CU_ASSERT_EQUAL(td_config_load_string(req_table, "req.yaml",
                                          "brokers: b\ndb: {host: h}\n", &r, &err), 0);
    CU_ASSERT_STRING_EQUAL(r.brokers, "b");
    CU_ASSERT_STRING_EQUAL(r.db.host, "h");
    CU_ASSERT_STRING_EQUAL(r.db.user, "tuodi");
    td_config_free(req_table, &r);
}

/* TD_CFG_OPTIONAL: one of several alternative sections may be absent. */
struct t_alt {
    struct t_req_db a, b;
};

static const td_cfg_entry alt_table[] = {
    TD_CFG_SECTION("a", struct t_alt, a, req_db_table, "First", TD_CFG_OPTIONAL),
    TD_CFG_SECTION("b", struct t_alt, b, req_db_table, "Second", TD_CFG_OPTIONAL),
    TD_CFG_END,
};

static void test_optional_section(void)
{
    struct t_alt r;
    td_error err;

    memset(&r, 0, sizeof(r));
    CU_ASSERT_EQUAL(td_config_load_string(alt_table, "alt.yaml", "b:\n  host: h\n", &r, &err), 0);
    CU_ASSERT_PTR_NULL(r.a.host);          /* absent: not asked for */
    CU_ASSERT_STRING_EQUAL(r.a.user, "tuodi"); /* but defaults are there */
    CU_ASSERT_STRING_EQUAL(r.b.host, "h");
    td_config_free(alt_table, &r);
    /* present but incomplete: its required keys are still required */
    CU_ASSERT_EQUAL(td_config_load_string(alt_table, "alt.yaml", "a:\n  user: u\n", &r, &err),
                    -EINVAL);
    CU_ASSERT_STRING_EQUAL(td_error_msg(&err), "alt.yaml:2:3: missing required key \"host\" in \"a\"");
}

static void test_syntax_errors(void)
{
    expect_error("workers: [1, 2\ngroup_id: x\n",
                 "cfg.yaml:2:9: syntax error: did not find expected ',' or ']' (while "
                 "parsing a flow sequence at line 1, column 10)");
    expect_error("workers: 1\n group_id: x\n",
                 "cfg.yaml:2:10: syntax error: mapping values are not allowed in this context");
    expect_error("group_id: \"abc\n",
                 "cfg.yaml:2:1: syntax error: found unexpected end of stream (while scanning "
                 "a quoted scalar at line 1, column 11)");
    expect_error("workers: 1\n\tgroup_id: x\n",
                 "cfg.yaml:2:1: syntax error: found a tab character that violates "
                 "indentation (while scanning a plain scalar at line 1, column 10)");
    /* Invalid UTF-8: libyaml leaves the mark at 0:0, the offset is used. */
    expect_error("workers: 1\ngroup_id: \xc3\xa9t\xff\n",
                 "cfg.yaml:2:13: invalid input: invalid leading UTF-8 octet (byte 0xff)");
    /* One document per file. */
    expect_error("group_id: a\n---\ngroup_id: b\n",
                 "cfg.yaml:2:1: a second YAML document: one file holds one document");
    /* Deep nesting is refused, not recursed into. */
    {
        char yaml[512];
        size_t i, n = 100;

        memcpy(yaml, "tags: ", 6);
        for (i = 0; i < n; i++)
            yaml[6 + i] = '[';
        for (i = 0; i < n; i++)
            yaml[6 + n + i] = ']';
        yaml[6 + 2 * n] = '\0';
        expect_error(yaml, "cfg.yaml:1:70: nested deeper than 64 levels");
    }
}

static void test_aliases_rejected(void)
{
    expect_error("kafka_settings: &ks\n"
                 "  client_id: x\n"
                 "sources:\n"
                 "  - name: a\n"
                 "    kafka: *ks\n",
                 "cfg.yaml:5:12: YAML aliases are not supported (*ks)");
    expect_error("base: &b {acks: all}\nkafka:\n  <<: *b\n",
                 "cfg.yaml:3:7: YAML aliases are not supported (*b)");
    /* A billion laughs costs nothing: every alias is refused as it is met. */
    {
        struct t_cfg c;
        td_error err;
        const char *lol = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
                          "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                          "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
                          "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                          "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
                          "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
                          "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
                          "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
                          "tags: [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";

        CU_ASSERT_EQUAL(load(lol, &c, &err), -EINVAL);
        CU_ASSERT_TRUE(msg_has(&err, "cfg.yaml:1:1: unknown key \"a\""));
        CU_ASSERT_TRUE(msg_has(&err, "cfg.yaml:2:8: YAML aliases are not supported (*a)"));
        CU_ASSERT_TRUE(msg_has(&err, "more problems, not shown"));
    }
}

static void test_several_errors(void)
{
    struct t_cfg c;
    td_error err;
    const char *yaml = "group_id: g\n"        /* 1 */
                       "workers: many\n"      /* 2 */
                       "level: loud\n"        /* 3 */
                       "kafka_settings:\n"    /* 4 */
                       "  retries: -1\n"      /* 5 */
                       "  clientid: x\n"      /* 6 */
                       "group_id: h\n";       /* 7 */

    CU_ASSERT_EQUAL(load(yaml, &c, &err), -EINVAL);
    CU_ASSERT_STRING_EQUAL(td_error_msg(&err),
        "cfg.yaml:2:10: workers: expected an integer, got \"many\"\n"
        "cfg.yaml:3:8: level: expected one of error, warning, info, debug; got \"loud\"\n"
        "cfg.yaml:5:12: kafka_settings.retries: -1 is out of range (0..100)\n"
        "cfg.yaml:6:3: unknown key \"clientid\" in \"kafka_settings\" (did you mean "
        "\"client_id\"?)\n"
        "cfg.yaml:7:1: duplicate key \"group_id\" (first at line 1, column 1)");
    CU_ASSERT_TRUE(cfg_is_zero(&c));
}

static void test_error_limit(void)
{
    struct t_cfg c;
    td_error err;
    char yaml[4096];
    size_t i, o = 0;

    o += (size_t)snprintf(yaml + o, sizeof(yaml) - o, "group_id: g\n");
    for (i = 0; i < 30; i++)
        o += (size_t)snprintf(yaml + o, sizeof(yaml) - o, "unknown_%02zu: %zu\n", i, i);
    CU_ASSERT_EQUAL(load(yaml, &c, &err), -EINVAL);
    CU_ASSERT_EQUAL(count_lines(td_error_msg(&err)), TD_CONFIG_MAX_ERRORS + 1);
    CU_ASSERT_TRUE(msg_has(&err, "cfg.yaml:2:1: unknown key \"unknown_00\"\n"));
    CU_ASSERT_TRUE(msg_has(&err, "cfg.yaml:11:1: unknown key \"unknown_09\"\n"
                                 "cfg.yaml: and 20 more problems, not shown"));
    /* Long messages fill td_error before 10 lines: whole lines only, and the
     * count line still fits. */
    o = (size_t)snprintf(yaml, sizeof(yaml), "kafka:\n");
    for (i = 0; i < 20; i++)
        o += (size_t)snprintf(yaml + o, sizeof(yaml) - o,
                              "  no.such.property.with.a.rather.long.name.number.%02zu.and.a."
                              "longer.tail.still.to.make.this.line.long.enough.to.fill: 1\n", i);
    CU_ASSERT_EQUAL(load(yaml, &c, &err), -EINVAL);
    CU_ASSERT_TRUE(count_lines(td_error_msg(&err)) < TD_CONFIG_MAX_ERRORS);
    CU_ASSERT_TRUE(msg_has(&err, "cfg.yaml:2:3: kafka.no.such.property.with.a.rather.long."
                                 "name.number.00.and.a.longer.tail.still.to.make.this.line.long."
                                 "enough.to.fill: No such configuration property"));
    CU_ASSERT_TRUE(msg_has(&err, "more problems, not shown"));
    CU_ASSERT_PTR_NULL(strstr(td_error_msg(&err), "..."));
    CU_ASSERT_TRUE(strlen(td_error_msg(&err)) < TD_ERROR_MSG_MAX - 1);
}

/* Tests: substitution and secrets. */

static void test_env_substitution(void)
{
    struct t_cfg c;
    td_error err;

    setenv("TD_CFG_TEST_GROUP", "g1", 1);
    setenv("TD_CFG_TEST_WORKERS", "8", 1);
    setenv("TD_CFG_TEST_EMPTY", "", 1);
    unsetenv("TD_CFG_TEST_UNSET");
    CU_ASSERT_EQUAL_FATAL(load("group_id: ${TD_CFG_TEST_GROUP}-x\n"
                               "workers: ${TD_CFG_TEST_WORKERS}\n"
                               "spool_dir: ${TD_CFG_TEST_UNSET:-/tmp/d}\n"
                               "kafka_settings:\n"
                               "  client_id: a${TD_CFG_TEST_EMPTY}b${TD_CFG_TEST_EMPTY:-c}\n"
                               "tags: [\"$${TD_CFG_TEST_GROUP}\", a$b, $, \"$$x\", "
                               "'${TD_CFG_TEST_GROUP}']\n"
                               "kafka:\n"
                               "  client.id: ${TD_CFG_TEST_GROUP}\n",
                               &c, &err), 0);
    CU_ASSERT_STRING_EQUAL(c.group_id, "g1-x");
    CU_ASSERT_EQUAL(c.workers, 8);
    CU_ASSERT_STRING_EQUAL(c.spool_dir, "/tmp/d");
    CU_ASSERT_STRING_EQUAL(c.ks.client_id, "abc");
    CU_ASSERT_EQUAL_FATAL(c.n_tags, 5);
    CU_ASSERT_STRING_EQUAL(c.tags[0], "${TD_CFG_TEST_GROUP}");
    CU_ASSERT_STRING_EQUAL(c.tags[1], "a$b");
    CU_ASSERT_STRING_EQUAL(c.tags[2], "$");
    CU_ASSERT_STRING_EQUAL(c.tags[3], "$$x");
    CU_ASSERT_STRING_EQUAL(c.tags[4], "g1"); /* every scalar style */
    CU_ASSERT_STRING_EQUAL(prop(&c.kafka, "client.id"), "g1");
    td_config_free(table, &c);

    expect_error("group_id: g\nworkers: ${TD_CFG_TEST_UNSET}\n",
                 "cfg.yaml:2:10: workers: environment variable \"TD_CFG_TEST_UNSET\" is not "
                 "set (use ${TD_CFG_TEST_UNSET:-default} for a default)");
    expect_error("workers: ${TD_CFG_TEST_GROUP}\n",
                 "cfg.yaml:1:10: workers: expected an integer, got \"g1\"");
    expect_error("group_id: ${TD_CFG_TEST_GROUP\n",
                 "cfg.yaml:1:11: group_id: \"${\" without a closing \"}\"");
    expect_error("group_id: ${1BAD}\n",
                 "cfg.yaml:1:11: group_id: invalid variable name \"1BAD\"");
    expect_error("group_id: ${TD_CFG_TEST_GROUP-x}\n", "invalid variable name");
    expect_error("kafka:\n  client.id: ${TD_CFG_TEST_UNSET}\n",
                 "cfg.yaml:2:14: kafka.client.id: environment variable \"TD_CFG_TEST_UNSET\"");
    /* Values from outside YAML need not be UTF-8: messages stay bounded. */
    {
        char junk[2001];

        memset(junk, 0x80, sizeof(junk) - 1);
        junk[sizeof(junk) - 1] = '\0';
        setenv("TD_CFG_TEST_JUNK", junk, 1);
        CU_ASSERT_EQUAL(load("workers: ${TD_CFG_TEST_JUNK}\n", &c, &err), -EINVAL);
        CU_ASSERT_TRUE(msg_has(&err, "cfg.yaml:1:10: workers: expected an integer, got \"\x80"));
        CU_ASSERT_TRUE(strlen(td_error_msg(&err)) < 400);
        unsetenv("TD_CFG_TEST_JUNK");
    }
    unsetenv("TD_CFG_TEST_GROUP");
    unsetenv("TD_CFG_TEST_WORKERS");
    unsetenv("TD_CFG_TEST_EMPTY");
}

static void test_file_substitution(void)
{
    char *dir = td_test_tmpdir(), path[4096], name[4096];
    struct t_cfg c;
    td_error err;

    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    snprintf(path, sizeof(path), "%s/db.secret", dir);
    CU_ASSERT_EQUAL(td_test_write_file(path, "s3cret\n"), 0);
    CU_ASSERT_EQUAL(chmod(path, 0640), 0); /* a secret's file: not for others */
    snprintf(path, sizeof(path), "%s/crlf.secret", dir);
    CU_ASSERT_EQUAL(td_test_write_file(path, "two\nlines\r\n"), 0);
    snprintf(name, sizeof(name), "%s/cfg.yaml", dir);

    memset(&c, 0, sizeof(c));
    CU_ASSERT_EQUAL_FATAL(td_config_load_string(table, name,
                                                "password: ${file:db.secret}\n"
                                                "group_id: \"${file:crlf.secret}\"\n"
                                                "tags: [\"${file:" "/dev/null}\"]\n",
                                                &c, &err), 0);
    CU_ASSERT_STRING_EQUAL(c.password, "s3cret");
    CU_ASSERT_STRING_EQUAL(c.group_id, "two\nlines");
    CU_ASSERT_STRING_EQUAL(c.tags[0], "");
    td_config_free(table, &c);

    CU_ASSERT_EQUAL(td_config_load_string(table, name, "password: ${file:missing}\n", &c,
                                          &err), -EINVAL);
    CU_ASSERT_TRUE(msg_has(&err, ":1:11: password: cannot read ${file:\""));
    CU_ASSERT_TRUE(msg_has(&err, "/missing\"}: No such file or directory"));
    CU_ASSERT_TRUE(cfg_is_zero(&c));
    CU_ASSERT_EQUAL(td_config_load_string(table, name, "password: ${file:}\n", &c, &err),
                    -EINVAL);
    CU_ASSERT_TRUE(msg_has(&err, ":1:11: password: ${file:} needs a path"));
    CU_ASSERT_EQUAL(td_test_rmtree(dir), 0);
    free(dir);
}

/* A secret read from a file that others may read is refused where it is
 * written, naming the key and the file, never showing the value: a table
 * key marked secret and the kafka: section's secret keys (sasl.password,
 * ssl.key.password). A key that is not secret may read any file. */
static void test_file_secret_mode(void)
{
    char *dir = td_test_tmpdir(), path[4096], name[4096];
    struct t_cfg c;
    td_error err;

    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    snprintf(path, sizeof(path), "%s/pw", dir);
    CU_ASSERT_EQUAL(td_test_write_file(path, "hunter2\n"), 0);
    CU_ASSERT_EQUAL(chmod(path, 0644), 0);
    snprintf(name, sizeof(name), "%s/cfg.yaml", dir);

    memset(&c, 0, sizeof(c));
    CU_ASSERT_EQUAL(td_config_load_string(table, name, "group_id: ${file:pw}\n"
                                          "password: ${file:pw}\n", &c, &err), -EINVAL);
    CU_ASSERT_TRUE(msg_has(&err, ":2:11: password: ${file:\""));
    CU_ASSERT_TRUE(msg_has(&err, "/pw\"} holds a secret but is readable by others "
                                 "(mode 0644): chmod o-rwx it"));
    CU_ASSERT_FALSE(msg_has(&err, ":1:"));
    CU_ASSERT_FALSE(msg_has(&err, "hunter2"));
    CU_ASSERT_TRUE(cfg_is_zero(&c));

    CU_ASSERT_EQUAL(td_config_load_string(table, name, "kafka:\n"
                                          "  sasl.username: ${file:pw}\n"
                                          "  sasl.password: ${file:pw}\n"
                                          "  ssl.key.password: \"${file:pw}\"\n", &c, &err),
                    -EINVAL);
    CU_ASSERT_TRUE(msg_has(&err, ":3:18: kafka.sasl.password: ${file:\""));
    CU_ASSERT_TRUE(msg_has(&err, ":4:21: kafka.ssl.key.password: ${file:\""));
    CU_ASSERT_FALSE(msg_has(&err, "sasl.username"));
    CU_ASSERT_FALSE(msg_has(&err, "hunter2"));

    CU_ASSERT_EQUAL(chmod(path, 0602), 0);
    CU_ASSERT_EQUAL(td_config_load_string(table, name, "password: ${file:pw}\n", &c, &err),
                    -EINVAL);
    CU_ASSERT_TRUE(msg_has(&err, "holds a secret but is writable by others (mode 0602)"));

    CU_ASSERT_EQUAL(chmod(path, 0640), 0);
    CU_ASSERT_EQUAL_FATAL(td_config_load_string(table, name, "password: ${file:pw}\n"
                                                "kafka:\n  sasl.password: ${file:pw}\n",
                                                &c, &err), 0);
    CU_ASSERT_STRING_EQUAL(c.password, "hunter2");
    CU_ASSERT_STRING_EQUAL(prop(&c.kafka, "sasl.password"), "hunter2");
    td_config_free(table, &c);
    CU_ASSERT_EQUAL(td_test_rmtree(dir), 0);
    free(dir);
}

static void test_secrets_not_shown(void)
{
    struct t_cfg c;
    td_error err;

    setenv("TD_CFG_TEST_PIN", "hunter2", 1);
    CU_ASSERT_EQUAL(load("pin: hunter2\n"
                         "password: {hunter2: 1}\n"
                         "kafka:\n"
                         "  sasl.password: hunter2\n"
                         "  ssl.key.password: hunter2\n"
                         "  no.such.property: 1\n"
                         "sources:\n"
                         "  - name: a\n"
                         "    kafka: {sasl.password: hunter2, acks: x}\n",
                         &c, &err), -EINVAL);
    CU_ASSERT_TRUE(msg_has(&err, "cfg.yaml:1:6: pin: expected an integer, got <redacted>"));
    CU_ASSERT_TRUE(msg_has(&err, "cfg.yaml:2:11: password: expected a string, got a mapping"));
    CU_ASSERT_TRUE(msg_has(&err, "cfg.yaml:6:3: kafka.no.such.property: No such configuration "
                                 "property"));
    CU_ASSERT_TRUE(msg_has(&err, "cfg.yaml:9:37: kafka.acks: Invalid value"));
    CU_ASSERT_PTR_NULL(strstr(td_error_msg(&err), "hunter2"));
    CU_ASSERT_EQUAL(load("pin: ${TD_CFG_TEST_PIN}\n", &c, &err), -EINVAL);
    CU_ASSERT_TRUE(msg_has(&err, "cfg.yaml:1:6: pin: expected an integer, got <redacted>"));
    CU_ASSERT_PTR_NULL(strstr(td_error_msg(&err), "hunter2"));
    CU_ASSERT_EQUAL(load("pin: 99999\n", &c, &err), -EINVAL);
    CU_ASSERT_STRING_EQUAL(td_error_msg(&err),
                           "cfg.yaml:1:6: pin: <redacted> is out of range (0..9999)");
    unsetenv("TD_CFG_TEST_PIN");
}

/* Tests: kafka passthrough. */

static void test_kafka_passthrough(void)
{
    struct t_cfg c;
    td_error err;

    CU_ASSERT_EQUAL_FATAL(load("kafka:\n"
                               "  bootstrap.servers: \"k1:9092,k2:9092\"\n"
                               "  linger.ms: 5\n"
                               "  enable.idempotence: true\n"
                               "  partitioner: murmur2_random\n"
                               "  sasl.password: 'x'\n",
                               &c, &err), 0);
    CU_ASSERT_EQUAL_FATAL(c.kafka.n, 5);
    CU_ASSERT_STRING_EQUAL(c.kafka.v[0].key, "bootstrap.servers");
    CU_ASSERT_STRING_EQUAL(c.kafka.v[0].value, "k1:9092,k2:9092");
    CU_ASSERT_STRING_EQUAL(c.kafka.v[0].origin, "cfg.yaml:2:3");
    CU_ASSERT_STRING_EQUAL(prop(&c.kafka, "linger.ms"), "5");
    CU_ASSERT_STRING_EQUAL(prop(&c.kafka, "enable.idempotence"), "true");
    CU_ASSERT_STRING_EQUAL(prop(&c.kafka, "partitioner"), "murmur2_random");
    td_config_free(table, &c);

    expect_error("kafka: {no.such.property: 1}\n",
                 "cfg.yaml:1:9: kafka.no.such.property: No such configuration property: "
                 "\"no.such.property\"");
    expect_error("group_id: g\nkafka:\n  acks: banana\n",
                 "cfg.yaml:3:3: kafka.acks: Invalid value for configuration property");
    expect_error("kafka:\n  linger.ms: -5\n",
                 "cfg.yaml:2:3: kafka.linger.ms: Configuration property \"queue.buffering.max.ms\" "
                 "value -5 is outside allowed range");
    expect_error("kafka:\n  sasl:\n    mechanisms: PLAIN\n",
                 "cfg.yaml:3:5: kafka.sasl: expected a scalar value, got a mapping (write "
                 "librdkafka's dotted names as keys");
    expect_error("kafka:\n  linger.ms:\n", "cfg.yaml:2:13: kafka.linger.ms: expected a scalar "
                                           "value, got null");
    /* Errors in every kafka section are all reported. */
    {
        CU_ASSERT_EQUAL(load("kafka: {nope: 1, acks: all, nope2: 2}\n"
                             "sources:\n"
                             "  - name: a\n"
                             "    kafka:\n"
                             "      enable.idempotence: maybe\n", &c, &err), -EINVAL);
        CU_ASSERT_STRING_EQUAL(td_error_msg(&err),
            "cfg.yaml:1:9: kafka.nope: No such configuration property: \"nope\"\n"
            "cfg.yaml:1:29: kafka.nope2: No such configuration property: \"nope2\"\n"
            "cfg.yaml:5:7: kafka.enable.idempotence: Expected bool value for "
            "\"enable.idempotence\": true or false");
    }
}

/* Tests: sections and lists of sections. */

static void test_sections_list_errors(void)
{
    struct t_cfg c;
    td_error err;
    const char *yaml = "sources:\n"                  /* 1 */
                       "  - name: a\n"               /* 2 */
                       "    port: 80\n"              /* 3 */
                       "  - name: b\n"               /* 4 */
                       "    port: eighty\n"          /* 5 */
                       "    colour: red\n"           /* 6 */
                       "  - port: 1\n"               /* 7 */
                       "    topics: [x, {y: 1}]\n"   /* 8 */
                       "    kafka:\n"                /* 9 */
                       "      no.such.property: 1\n" /* 10 */
                       "  - {nme: c}\n";             /* 11 */

    CU_ASSERT_EQUAL(load(yaml, &c, &err), -EINVAL);
    CU_ASSERT_STRING_EQUAL(td_error_msg(&err),
        "cfg.yaml:5:11: sources[1].port: expected an integer, got \"eighty\"\n"
        "cfg.yaml:6:5: unknown key \"colour\" in \"sources[1]\"\n"
        "cfg.yaml:7:5: missing required key \"name\" in \"sources[2]\"\n"
        "cfg.yaml:8:17: sources[2].topics[1]: expected a string, got a mapping\n"
        "cfg.yaml:10:7: kafka.no.such.property: No such configuration property: "
        "\"no.such.property\"\n"
        "cfg.yaml:11:5: missing required key \"name\" in \"sources[3]\"\n"
        "cfg.yaml:11:6: unknown key \"nme\" in \"sources[3]\" (did you mean \"name\"?)");
    CU_ASSERT_TRUE(cfg_is_zero(&c));
}

/* Tests: paths and files. */

static void test_relative_paths(void)
{
    struct t_cfg c;
    td_error err;

    memset(&c, 0, sizeof(c));
    CU_ASSERT_EQUAL_FATAL(td_config_load_string(table, "/etc/tuodi/cfg.yaml", "", &c, &err), 0);
    CU_ASSERT_STRING_EQUAL(c.spool_dir, "/etc/tuodi/spool"); /* defaults too */
    td_config_free(table, &c);
    CU_ASSERT_EQUAL_FATAL(td_config_load_string(table, "/etc/tuodi/cfg.yaml",
                                                "spool_dir: ../data/q\n", &c, &err), 0);
    CU_ASSERT_STRING_EQUAL(c.spool_dir, "/etc/tuodi/../data/q");
    td_config_free(table, &c);
    CU_ASSERT_EQUAL_FATAL(td_config_load_string(table, "/etc/tuodi/cfg.yaml",
                                                "spool_dir: /srv/q\n", &c, &err), 0);
    CU_ASSERT_STRING_EQUAL(c.spool_dir, "/srv/q");
    td_config_free(table, &c);
    CU_ASSERT_EQUAL_FATAL(td_config_load_string(table, "conf.d/cfg.yaml",
                                                "spool_dir: q\n", &c, &err), 0);
    CU_ASSERT_STRING_EQUAL(c.spool_dir, "conf.d/q");
    td_config_free(table, &c);
    CU_ASSERT_EQUAL_FATAL(td_config_load_string(table, "/cfg.yaml", "spool_dir: q\n", &c,
                                                &err), 0);
    CU_ASSERT_STRING_EQUAL(c.spool_dir, "/q");
    td_config_free(table, &c);
    expect_error("spool_dir: \"\"\n", "cfg.yaml:1:12: spool_dir: expected a path, got an "
                                      "empty string");
}

static void test_load_file(void)
{
    char *dir = td_test_tmpdir(), path[4096], expect[8192], *real;
    struct t_cfg c;
    td_error err;

    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    real = realpath(dir, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(real);
    snprintf(path, sizeof(path), "%s/secret", dir);
    CU_ASSERT_EQUAL(td_test_write_file(path, "pw\n"), 0);
    CU_ASSERT_EQUAL(chmod(path, 0600), 0);
    snprintf(path, sizeof(path), "%s/connector.yaml", dir);
    CU_ASSERT_EQUAL(td_test_write_file(path, "group_id: from-file\n"
                                             "password: ${file:secret}\n"
                                             "spool_dir: in\n"), 0);
    memset(&c, 0, sizeof(c));
    CU_ASSERT_EQUAL_FATAL(td_config_load_file(table, path, &c, &err), 0);
    CU_ASSERT_STRING_EQUAL(c.group_id, "from-file");
    CU_ASSERT_STRING_EQUAL(c.password, "pw");
    snprintf(expect, sizeof(expect), "%s/in", real);
    CU_ASSERT_STRING_EQUAL(c.spool_dir, expect);
    td_config_free(table, &c);

    /* The file's name, as given, leads every message. */
    CU_ASSERT_EQUAL(td_test_write_file(path, "group_id: a\n"
                                             "kafka_settings:\n"
                                             "  bootstrap_server: x\n"), 0);
    CU_ASSERT_EQUAL(td_config_load_file(table, path, &c, &err), -EINVAL);
    snprintf(expect, sizeof(expect), "%s:3:3: unknown key \"bootstrap_server\" in "
             "\"kafka_settings\" (did you mean \"bootstrap_servers\"?)", path);
    CU_ASSERT_STRING_EQUAL(td_error_msg(&err), expect);
    CU_ASSERT_TRUE(cfg_is_zero(&c));

    /* Unreadable. */
    snprintf(path, sizeof(path), "%s/absent.yaml", dir);
    CU_ASSERT_EQUAL(td_config_load_file(table, path, &c, &err), -ENOENT);
    snprintf(expect, sizeof(expect), "%s: cannot read: No such file or directory", path);
    CU_ASSERT_STRING_EQUAL(td_error_msg(&err), expect);
    CU_ASSERT_EQUAL(td_config_load_file(table, dir, &c, &err), -EISDIR);
    CU_ASSERT_TRUE(cfg_is_zero(&c));

    CU_ASSERT_EQUAL(td_test_rmtree(dir), 0);
    free(real);
    free(dir);
}

/* The whole message for a fixture file, against its golden text. */
static void test_golden_errors(void)
{
    char *yaml_path = data_path("bad.yaml"), *want_path = data_path("bad.errors");
    char *yaml = td_test_read_file(yaml_path, NULL), *want = td_test_read_file(want_path, NULL);
    struct t_cfg c;
    td_error err;
    size_t n;

    CU_ASSERT_PTR_NOT_NULL_FATAL(yaml);
    CU_ASSERT_PTR_NOT_NULL_FATAL(want);
    n = strlen(want);
    if (n > 0 && want[n - 1] == '\n')
        want[n - 1] = '\0';
    memset(&c, 0, sizeof(c));
    CU_ASSERT_EQUAL(td_config_load_string(table, "bad.yaml", yaml, &c, &err), -EINVAL);
    CU_ASSERT_STRING_EQUAL(td_error_msg(&err), want);
    if (strcmp(td_error_msg(&err), want) != 0)
        fprintf(stderr, "\n--- got:\n%s\n--- want:\n%s\n", td_error_msg(&err), want);
    free(yaml);
    free(want);
    free(yaml_path);
    free(want_path);
}

/* Tests: the table itself. */

struct t_bad {
    int64_t n;
    int e;
};

static void test_bad_table_default(void)
{
    static const char *const names[] = {"a", "b", NULL};
    static const td_cfg_entry bad_int[] = {
        TD_CFG_INT("n", struct t_bad, n, "12x", 0, 100, "A number"),
        TD_CFG_END,
    };
    static const td_cfg_entry bad_enum[] = {
        TD_CFG_ENUM("e", struct t_bad, e, "c", names, "A name"),
        TD_CFG_END,
    };
    struct t_bad b;
    td_error err;

    memset(&b, 0, sizeof(b));
    CU_ASSERT_EQUAL(td_config_load_string(bad_int, "x.yaml", "", &b, &err), -EINVAL);
    CU_ASSERT_STRING_EQUAL(td_error_msg(&err),
                           "config table: n: bad default: expected an integer, got \"12x\"");
    CU_ASSERT_EQUAL(td_config_load_string(bad_enum, "x.yaml", "", &b, &err), -EINVAL);
    CU_ASSERT_TRUE(msg_has(&err, "config table: e: bad default: expected one of a, b; got "
                                 "\"c\""));
}

/* td_config_origin: where a key is written, for problems found after
 * loading (--check-config's paths); a default has only the file. */
static void test_origin(void)
{
    char *dir = td_test_tmpdir(), path[4096], buf[4200];

    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    snprintf(path, sizeof(path), "%s/o.yaml", dir);
    CU_ASSERT_EQUAL(td_test_write_file(path,
                                       "name: x\n"
                                       "kafka:\n"
                                       "  bootstrap.servers: b:9092\n"
                                       "  ssl.ca.location: /ca.pem\n"
                                       "source:\n"
                                       "  spooldir:\n"
                                       "     input_dir: /in\n"), 0);
    CU_ASSERT_EQUAL(td_config_origin(path, "name", buf, sizeof(buf)), 0);
    CU_ASSERT(strstr(buf, "/o.yaml:1:1") != NULL && strncmp(buf, dir, strlen(dir)) == 0);
    CU_ASSERT_EQUAL(td_config_origin(path, "kafka.ssl.ca.location", buf, sizeof(buf)), 0);
    CU_ASSERT(strstr(buf, "/o.yaml:4:3") != NULL);
    CU_ASSERT_EQUAL(td_config_origin(path, "source.spooldir.input_dir", buf, sizeof(buf)), 0);
    CU_ASSERT(strstr(buf, "/o.yaml:7:6") != NULL);
    CU_ASSERT_EQUAL(td_config_origin(path, "source", buf, sizeof(buf)), 0);
    CU_ASSERT(strstr(buf, "/o.yaml:5:1") != NULL);
    /* not in the file: the file alone */
    CU_ASSERT_EQUAL(td_config_origin(path, "source.spooldir.error_dir", buf, sizeof(buf)),
                    -ENOENT);
    CU_ASSERT_STRING_EQUAL(buf, path);
    CU_ASSERT_EQUAL(td_config_origin(path, "kafka.ssl", buf, sizeof(buf)), -ENOENT);
    CU_ASSERT_EQUAL(td_config_origin(path, "name.more", buf, sizeof(buf)), -ENOENT);
    /* an unreadable or broken file: the file alone, and the error */
    snprintf(path, sizeof(path), "%s/none.yaml", dir);
    CU_ASSERT_EQUAL(td_config_origin(path, "name", buf, sizeof(buf)), -ENOENT);
    CU_ASSERT_STRING_EQUAL(buf, path);
    snprintf(path, sizeof(path), "%s/bad.yaml", dir);
    CU_ASSERT_EQUAL(td_test_write_file(path, "a: [1, 2\n"), 0);
    CU_ASSERT(td_config_origin(path, "a", buf, sizeof(buf)) < 0);
    CU_ASSERT_STRING_EQUAL(buf, path);
    /* cut to fit */
    CU_ASSERT_EQUAL(td_config_origin(path, "a", buf, 4) < 0, 1);
    CU_ASSERT_EQUAL(strlen(buf), 3);
    CU_ASSERT_EQUAL(td_config_origin(NULL, "a", buf, sizeof(buf)), -EINVAL);
    td_test_rmtree(dir);
    free(dir);
}

/* The reference must match the checked-in one (TD_UPDATE_REFERENCE=1
 * rewrites it). */
static void test_reference(void)
{
    char *buf = NULL, *want, *ref = data_path("reference.md");
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(td_config_write_reference(table, f), 0);
    fclose(f);
    if (getenv("TD_UPDATE_REFERENCE"))
        CU_ASSERT_EQUAL(td_test_write_file(ref, buf), 0);
    want = td_test_read_file(ref, NULL);
    CU_ASSERT_PTR_NOT_NULL(want);
    if (want) {
        CU_ASSERT_STRING_EQUAL(buf, want);
        if (strcmp(buf, want) != 0)
            fprintf(stderr, "\n--- generated:\n%s--- %s:\n%s", buf, ref, want);
    }
    CU_ASSERT_TRUE(strstr(buf, "| `sources[].kafka` | librdkafka properties | (empty) |") !=
                   NULL);
    free(want);
    free(buf);
    free(ref);
}

/* Tests: mappings with keys the program does not know in advance. */

struct t_map {
    td_cfg_map columns;
    td_cfg_maps codes;
    int64_t n;
};

static const td_cfg_entry map_table[] = {
    TD_CFG_MAP("columns", struct t_map, columns, "Field -> column"),
    TD_CFG_MAPS("codes", struct t_map, codes, "Field -> (code -> symbol)"),
    TD_CFG_INT("n", struct t_map, n, "1", 0, 9, "A number"),
    TD_CFG_END,
};

static bool map_is_zero(const struct t_map *m)
{
    struct t_map z;

    memset(&z, 0, sizeof(z));
    return memcmp(m, &z, sizeof(z)) == 0;
}

static void test_maps(void)
{
    struct t_map m;
    td_error err;
    const td_cfg_pair *p;
    const td_cfg_submap *sm;
    const char *yaml =
        "columns:\n"                                   /* 1 */
        "  person_key: 身份证号\n"                     /* 2 */
        "  \"source.record_id\": '结算单号'\n"         /* 3 */
        "  empty: \"\"\n"                              /* 4 */
        "  \"\": blank key\n"                          /* 5 */
        "  sub: ${TD_CFG_TEST_MAPVAR:-dflt}\n"         /* 6 */
        "codes:\n"                                     /* 7 */
        "  kind: {\"1\": INPATIENT, 2: OUTPATIENT, 住院: INPATIENT}\n" /* 8 */
        "  none:\n"                                    /* 9 */
        "  state:\n"                                   /* 10 */
        "    \"\": NOT_MONITORED\n";                   /* 11 */

    memset(&m, 0, sizeof(m));
    CU_ASSERT_EQUAL_FATAL(td_config_load_string(map_table, "m.yaml", yaml, &m, &err), 0);
    CU_ASSERT_EQUAL_FATAL(m.columns.n, 5);
    CU_ASSERT_STRING_EQUAL(m.columns.v[0].key, "person_key");
    CU_ASSERT_STRING_EQUAL(m.columns.v[0].value, "身份证号");
    CU_ASSERT_STRING_EQUAL(m.columns.v[0].origin, "m.yaml:2:3");
    CU_ASSERT_STRING_EQUAL(m.columns.v[0].value_origin, "m.yaml:2:15");
    CU_ASSERT_STRING_EQUAL(m.columns.v[1].key, "source.record_id");
    CU_ASSERT_STRING_EQUAL(m.columns.v[1].value, "结算单号");
    CU_ASSERT_STRING_EQUAL(m.columns.v[1].value_origin, "m.yaml:3:23");
    CU_ASSERT_STRING_EQUAL(m.columns.v[2].value, "");
    CU_ASSERT_STRING_EQUAL(m.columns.v[3].key, "");
    CU_ASSERT_STRING_EQUAL(m.columns.v[4].value, "dflt"); /* values are substituted */
    p = td_cfg_map_find(&m.columns, "source.record_id");
    CU_ASSERT_PTR_EQUAL(p, &m.columns.v[1]);
    CU_ASSERT_PTR_NULL(td_cfg_map_find(&m.columns, "nope"));
    CU_ASSERT_PTR_NULL(td_cfg_map_find(NULL, "nope"));
    CU_ASSERT_EQUAL_FATAL(m.codes.n, 3);
    sm = td_cfg_maps_find(&m.codes, "kind");
    CU_ASSERT_PTR_NOT_NULL_FATAL(sm);
    CU_ASSERT_STRING_EQUAL(sm->origin, "m.yaml:8:3");
    CU_ASSERT_EQUAL_FATAL(sm->map.n, 3);
    CU_ASSERT_STRING_EQUAL(sm->map.v[1].key, "2"); /* a number is a string key */
    CU_ASSERT_STRING_EQUAL(sm->map.v[1].value, "OUTPATIENT");
    CU_ASSERT_STRING_EQUAL(sm->map.v[1].origin, "m.yaml:8:26");
    CU_ASSERT_STRING_EQUAL(td_cfg_map_find(&sm->map, "住院")->value, "INPATIENT");
    sm = td_cfg_maps_find(&m.codes, "none"); /* null: an empty mapping */
    CU_ASSERT_PTR_NOT_NULL_FATAL(sm);
    CU_ASSERT_EQUAL(sm->map.n, 0);
    sm = td_cfg_maps_find(&m.codes, "state");
    CU_ASSERT_PTR_NOT_NULL_FATAL(sm);
    CU_ASSERT_STRING_EQUAL(td_cfg_map_find(&sm->map, "")->value, "NOT_MONITORED");
    CU_ASSERT_PTR_NULL(td_cfg_maps_find(&m.codes, "nope"));
    td_config_free(map_table, &m);
    CU_ASSERT_TRUE(map_is_zero(&m));

    /* Absent or null: empty. */
    CU_ASSERT_EQUAL_FATAL(td_config_load_string(map_table, "m.yaml", "columns:\ncodes: ~\n", &m,
                                                &err), 0);
    CU_ASSERT_EQUAL(m.columns.n, 0);
    CU_ASSERT_EQUAL(m.codes.n, 0);
    td_config_free(map_table, &m);
}

static void test_map_errors(void)
{
    static const struct {
        const char *yaml, *want;
    } cases[] = {
        {"columns: [a]\n", "m.yaml:1:10: columns: expected a mapping of strings, got a list"},
        {"columns: a\n", "m.yaml:1:10: columns: expected a mapping of strings, got a scalar"},
        {"columns:\n  a: ~\n",
         "m.yaml:2:6: columns.a: expected a string, got null (write \"\" for an empty string)"},
        {"columns:\n  a: [x]\n", "m.yaml:2:6: columns.a: expected a string, got a list"},
        {"columns:\n  a: {x: y}\n", "m.yaml:2:6: columns.a: expected a string, got a mapping"},
        {"columns:\n  ~: x\n", "m.yaml:2:3: columns: a null key (write \"\" for an empty key)"},
        {"columns:\n  a: x\n  a: y\n", "m.yaml:3:3: duplicate key \"a\" (first at line 2, column 3)"},
        {"columns:\n  a: ${TD_CFG_TEST_UNSET_MAPVAR}\n",
         "m.yaml:2:6: columns.a: environment variable \"TD_CFG_TEST_UNSET_MAPVAR\" is not set"},
        {"codes: [a]\n", "m.yaml:1:8: codes: expected a mapping of mappings, got a list"},
        {"codes:\n  kind: INPATIENT\n", "m.yaml:2:9: codes.kind: expected a mapping, got a scalar"},
        {"codes:\n  kind: [a]\n", "m.yaml:2:9: codes.kind: expected a mapping, got a list"},
        {"codes:\n  kind:\n    \"1\": ~\n",
         "m.yaml:3:10: codes.kind.1: expected a string, got null"},
        {"codes:\n  kind:\n    \"1\": {a: b}\n",
         "m.yaml:3:10: codes.kind.1: expected a string, got a mapping"},
        {"codes:\n  kind: {\"1\": A, \"1\": B}\n",
         "m.yaml:2:18: duplicate key \"1\" (first at line 2, column 10)"},
        {"codes:\n  kind: {}\n  kind: {}\n",
         "m.yaml:3:3: duplicate key \"kind\" (first at line 2, column 3)"},
        {"codes:\n  ~: {}\n", "m.yaml:2:3: codes: a null key"},
        {"codes:\n  ? [a]\n  : {}\n", "m.yaml:2:5: mapping keys must be plain strings, not a list"},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        struct t_map m;
        td_error err;

        memset(&m, 0, sizeof(m));
        CU_ASSERT_EQUAL(td_config_load_string(map_table, "m.yaml", cases[i].yaml, &m, &err),
                        -EINVAL);
        if (!msg_has(&err, cases[i].want)) {
            fprintf(stderr, "    case %zu\n", i);
            CU_FAIL("message");
        }
        CU_ASSERT_TRUE(map_is_zero(&m));
        td_config_free(map_table, &m);
    }
    /* Every problem is reported, in order. */
    {
        struct t_map m;
        td_error err;

        memset(&m, 0, sizeof(m));
        CU_ASSERT_EQUAL(td_config_load_string(map_table, "m.yaml",
                                              "columns: {a: ~, b: x, c: [y]}\n"
                                              "codes: {k: {\"1\": ~}, j: 5}\nn: 10\n",
                                              &m, &err), -EINVAL);
        CU_ASSERT_STRING_EQUAL(td_error_msg(&err),
            "m.yaml:1:14: columns.a: expected a string, got null (write \"\" for an empty "
            "string)\n"
            "m.yaml:1:26: columns.c: expected a string, got a list\n"
            "m.yaml:2:18: codes.k.1: expected a string, got null (write \"\" for an empty "
            "string)\n"
            "m.yaml:2:25: codes.j: expected a mapping, got a scalar\n"
            "m.yaml:3:4: n: 10 is out of range (0..9)");
        CU_ASSERT_TRUE(map_is_zero(&m));
    }
}

/* Hostile input for the mapping types: never a crash or a leak. */
static void test_map_mutations(void)
{
    const char *seed_yaml = "columns:\n  a: x\n  \"b.c\": '${TD_CFG_TEST_NOPE:-y}'\n"
                            "codes:\n  kind: {\"1\": A, 2: B}\n  st:\n    \"\": N\n";
    static const char alphabet[] = "{}[]:,-&*!|>'\"#%@` \n\t$\\~?0aZ\xff\xc3";
    size_t len = strlen(seed_yaml), round;
    uint64_t rng = 0x2545F4914F6CDD1Dull;
    char buf[256];

    for (round = 0; round < 3000; round++) {
        struct t_map m;
        td_error err;
        size_t k, edits;

        memcpy(buf, seed_yaml, len + 1);
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        edits = 1 + rng % 4;
        for (k = 0; k < edits; k++) {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            buf[rng % len] = alphabet[(rng >> 32) % (sizeof(alphabet) - 1)];
        }
        memset(&m, 0, sizeof(m));
        if (td_config_load_string(map_table, "m.yaml", buf, &m, &err) < 0) {
            CU_ASSERT_TRUE(map_is_zero(&m));
            CU_ASSERT_TRUE(td_error_msg(&err)[0] != '\0');
        }
        td_config_free(map_table, &m);
    }
}

static void test_map_reference(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(td_config_write_reference(map_table, f), 0);
    fclose(f);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "| `columns` | mapping of strings | (empty) | any keys, "
                                       "string values | Field -> column |\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "| `codes` | mapping of mappings | (empty) | any keys, "
                                       "each a mapping of strings | Field -> (code -> symbol) "
                                       "|\n"));
    free(buf);
}

/* Hostile input: mutated configs never crash or leak (ASan checks). */
static void test_mutations(void)
{
    const char *seed_yaml =
        "group_id: g\nworkers: 8\nlevel: debug\ntimeout: 1h30m\nbuffer: 64MiB\n"
        "kafka_settings:\n  client_id: c\n  retries: 2\ntags: [a, b]\n"
        "sources:\n  - name: a\n    topics: [t]\n    kafka: {linger.ms: 5}\n"
        "kafka:\n  acks: all\n  client.id: ${TD_CFG_TEST_NOPE:-x}\n";
    static const char alphabet[] = "{}[]:,-&*!|>'\"#%@` \n\t$\\~?0aZ\xff\xc3";
    size_t len = strlen(seed_yaml), round;
    uint64_t rng = 0x9E3779B97F4A7C15ull;
    char buf[1024];

    for (round = 0; round < 3000; round++) {
        struct t_cfg c;
        td_error err;
        size_t k, edits;

        memcpy(buf, seed_yaml, len + 1);
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        edits = 1 + rng % 4;
        for (k = 0; k < edits; k++) {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            buf[rng % len] = alphabet[(rng >> 32) % (sizeof(alphabet) - 1)];
        }
        if (load(buf, &c, &err) < 0) {
            CU_ASSERT_TRUE(cfg_is_zero(&c));
            CU_ASSERT_TRUE(td_error_msg(&err)[0] != '\0');
        }
        td_config_free(table, &c);
    }
}

static void add_suites(void)
{
    td_test_suite("config", NULL, NULL);
    TD_TEST(test_defaults);
    TD_TEST(test_maps);
    TD_TEST(test_map_errors);
    TD_TEST(test_map_reference);
    TD_TEST(test_map_mutations);
    TD_TEST(test_values);
    TD_TEST(test_null_values);
    TD_TEST(test_unknown_key);
    TD_TEST(test_foreign_file_is_one_message);
    TD_TEST(test_unknown_key_quoted_short);
    TD_TEST(test_duplicate_key);
    TD_TEST(test_wrong_type);
    TD_TEST(test_integers);
    TD_TEST(test_out_of_range);
    TD_TEST(test_enum);
    TD_TEST(test_durations);
    TD_TEST(test_sizes);
    TD_TEST(test_missing_required);
    TD_TEST(test_optional_section);
    TD_TEST(test_syntax_errors);
    TD_TEST(test_aliases_rejected);
    TD_TEST(test_several_errors);
    TD_TEST(test_error_limit);
    TD_TEST(test_env_substitution);
    TD_TEST(test_file_substitution);
    TD_TEST(test_file_secret_mode);
    TD_TEST(test_secrets_not_shown);
    TD_TEST(test_kafka_passthrough);
    TD_TEST(test_sections_list_errors);
    TD_TEST(test_relative_paths);
    TD_TEST(test_load_file);
    TD_TEST(test_golden_errors);
    TD_TEST(test_bad_table_default);
    TD_TEST(test_reference);
    TD_TEST(test_origin);
    TD_TEST(test_mutations);
}

TD_TEST_MAIN(add_suites)
