/* td_kafka: see td_kafka.h.
 *
 * Why eager (range / roundrobin) and not cooperative-sticky rebalancing:
 * the daemon's loop is "consume, produce, send offsets, commit" inside one
 * transaction. With eager rebalancing every revocation takes all partitions
 * at once, so the rebalance callback ends the open transaction and unassigns,
 * and the next assignment starts from the committed offsets: one simple rule.
 * With cooperative-sticky, partitions move while others keep flowing; the
 * transaction then holds records from partitions that are leaving, and
 * librdkafka 2.0.2 still has the problems fixed later or never: a commit made
 * while a cooperative rebalance is in progress starts another rebalance
 * (librdkafka issue #4059; the fix, #4220, was not merged), and a consumer
 * closed while an incremental assignment is processed can hang (#4528, fixed
 * in 2.4.0). Roundrobin is the default because tuodi consumes many
 * department topics with few partitions each, which range would pile onto
 * the first group members.
 */
#include "td_kafka.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "td_log.h"
#include "td_path.h"
#include "td_signal.h"
#include "td_time.h"

#define TD_KAFKA_ERRSTR 512
/* Pause between retries of a retriable transactional or metadata call. */
#define TD_KAFKA_RETRY_PAUSE_MS 100

/* Stops (td_signal).
 *
 * A daemon asked to stop must be gone within seconds, also while the broker
 * is away, so no call here blocks long without looking at the stop flag:
 * librdkafka calls with a timeout are made in slices (a transactional call
 * that times out is resumed by calling it again, which librdkafka documents;
 * a Metadata request is simply asked again), and between slices:
 *  - what only waits for Kafka (Metadata, topic creation, DescribeConfigs,
 *    init_transactions) ends at once with -EINTR (RD_KAFKA_RESP_ERR__INTR);
 *  - what finishes work (commit, abort, send offsets, a full local queue
 *    when producing) goes on until td_signal_stop_deadline_ms() at the
 *    latest and then ends as if its own timeout had run out (-ETIMEDOUT):
 *    what it did not finish is redone at the next start. */
#define TD_KAFKA_SLICE_MS 500
/* The slice of a transactional call. librdkafka 2.0.2 resumes a call that
 * timed out when it is called again, but with 5 ms slices, that is with
 * resumes in nearly every call, one run in 4 to 8 of itest_kafka_broker's
 * transactional round saw a produce fail with "Erroneous state" right after
 * a resumed commit and a begin (none in 12 runs without slices); librdkafka
 * itself recommends not to cut these calls short. So the slice is as long
 * as the stop grace: a call on a healthy broker is never cut, resumes come
 * only when Kafka is in trouble (as before, after a 30 s timeout), and the
 * stop deadline is not held up by more than librdkafka's own overrun,
 * since a call that began before the stop ends within the grace anyway. */
#define TD_KAFKA_TXN_SLICE_MS TD_SIGNAL_STOP_GRACE_MS
/* A Metadata request for all topics of a big cluster can take longer than
 * TD_KAFKA_SLICE_MS on a loaded machine: a longer slice, so that a request
 * that is answered at all is answered within one. */
#define TD_KAFKA_METADATA_SLICE_MS 2000

typedef struct td_kafka_setting {
    const char *key;
    const char *value; /* NULL: must stay unset */
} td_kafka_setting;

static void td_kafka_sleep_ms(int64_t ms)
{
    struct timespec ts;

    if (ms <= 0)
        return;
    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ---- props ---------------------------------------------------------------- */

static void td_kafka_prop_free(td_kafka_prop *prop)
{
    if (prop->value && prop->key && td_kafka_key_is_secret(prop->key))
        explicit_bzero(prop->value, strlen(prop->value));
    free(prop->key);
    free(prop->value);
    free(prop->origin);
    prop->key = prop->value = prop->origin = NULL;
}

void td_kafka_props_clear(td_kafka_props *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++)
        td_kafka_prop_free(&p->v[i]);
    free(p->v);
    p->v = NULL;
    p->n = 0;
}

static size_t td_kafka_props_index(const td_kafka_props *p, const char *key)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->v[i].key, key) == 0)
            return i;
    return SIZE_MAX;
}

int td_kafka_props_add(td_kafka_props *p, const char *key, const char *value,
                       const char *origin)
{
    td_kafka_prop np = { 0 };
    td_kafka_prop *nv;
    size_t i;

    if (!p || !key || !value)
        return -EINVAL;
    np.key = strdup(key);
    np.value = strdup(value);
    np.origin = origin ? strdup(origin) : NULL;
    if (!np.key || !np.value || (origin && !np.origin))
        goto nomem;

    i = td_kafka_props_index(p, key);
    if (i != SIZE_MAX) {
        /* Replace: drop the old one and append, keeping "last written wins"
         * in the order of application. */
        td_kafka_prop_free(&p->v[i]);
        memmove(&p->v[i], &p->v[i + 1], (p->n - i - 1) * sizeof(p->v[0]));
        p->v[p->n - 1] = np;
        return 0;
    }
    nv = realloc(p->v, (p->n + 1) * sizeof(*nv));
    if (!nv)
        goto nomem;
    p->v = nv;
    p->v[p->n++] = np;
    return 0;

nomem:
    td_kafka_prop_free(&np);
    return -ENOMEM;
}

const td_kafka_prop *td_kafka_props_find(const td_kafka_props *p, const char *key)
{
    size_t i;

    if (!p || !key)
        return NULL;
    i = td_kafka_props_index(p, key);
    return i == SIZE_MAX ? NULL : &p->v[i];
}

const char *td_kafka_props_changed(const td_kafka_props *a, const td_kafka_props *b)
{
    size_t na = a ? a->n : 0, nb = b ? b->n : 0;
    for (size_t i = 0; i < na; i++) {
        const td_kafka_prop *o = td_kafka_props_find(b, a->v[i].key);
        if (!o || strcmp(o->value, a->v[i].value) != 0)
            return a->v[i].key;
    }
    for (size_t i = 0; i < nb; i++)
        if (!td_kafka_props_find(a, b->v[i].key))
            return b->v[i].key;
    return NULL;
}

bool td_kafka_key_is_secret(const char *key)
{
    if (!key)
        return false;
    return strcasestr(key, "password") || strcasestr(key, "secret") ||
           strcasestr(key, "key") || strcasestr(key, "oauthbearer.config");
}

/* Copies msg into out, with every occurrence of value replaced by "***". */
static void td_kafka_redact_into(char *out, size_t size, const char *msg, const char *value)
{
    size_t vlen = strlen(value), o = 0;

    if (size == 0)
        return;
    while (*msg && o + 1 < size) {
        if (vlen > 0 && strncmp(msg, value, vlen) == 0) {
            for (const char *s = "***"; *s && o + 1 < size; s++)
                out[o++] = *s;
            msg += vlen;
        } else {
            out[o++] = *msg++;
        }
    }
    out[o] = '\0';
}

/* err = "<origin>: kafka.<key>: <text>", text redacted if the key is secret. */
static int td_kafka_prop_error(td_error *err, int code, const td_kafka_prop *prop,
                               const char *text)
{
    char safe[TD_KAFKA_ERRSTR];

    if (td_kafka_key_is_secret(prop->key))
        td_kafka_redact_into(safe, sizeof(safe), text, prop->value);
    else
        snprintf(safe, sizeof(safe), "%s", text);
    return td_error_set(err, code, "%s%skafka.%s: %s", prop->origin ? prop->origin : "",
                        prop->origin ? ": " : "", prop->key, safe);
}

int td_kafka_conf_apply(rd_kafka_conf_t *conf, const td_kafka_props *p, td_error *err)
{
    char errstr[TD_KAFKA_ERRSTR];

    if (!conf)
        return td_error_set(err, -EINVAL, "kafka: no configuration to apply to");
    if (!p)
        return 0;
    for (size_t i = 0; i < p->n; i++) {
        const td_kafka_prop *prop = &p->v[i];

        errstr[0] = '\0';
        if (rd_kafka_conf_set(conf, prop->key, prop->value, errstr, sizeof(errstr)) !=
            RD_KAFKA_CONF_OK)
            return td_kafka_prop_error(err, -EINVAL, prop,
                                       errstr[0] ? errstr : "rejected by librdkafka");
    }
    return 0;
}

/* ---- refusals ------------------------------------------------------------- */

/* The first refusal any client of this process heard; see td_kafka_refused. */
static pthread_mutex_t td_kafka_refusal_lock = PTHREAD_MUTEX_INITIALIZER;
static char td_kafka_refusal_msg[1024];
static bool td_kafka_refusal_set;
/* The last topic librdkafka said it could not add to a transaction for
 * want of an ACL ("" none): the commit's error does not name it. */
static char td_kafka_denied_topic[256];

bool td_kafka_err_is_refusal(rd_kafka_resp_err_t code)
{
    switch (code) {
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_DELEGATION_TOKEN_AUTHORIZATION_FAILED:
        return true;
    default:
        return false;
    }
}

/* librdkafka's text without its "[thrd:...]: " thread prefix. */
static const char *td_kafka_strip_thread(const char *s)
{
    if (s && strncmp(s, "[thrd:", 6) == 0 && strstr(s, "]: "))
        return strstr(s, "]: ") + 3;
    return s ? s : "";
}

/* sasl.username of rk's configuration into buf ("" when unset). */
static void td_kafka_principal(const rd_kafka_t *rk, char *buf, size_t size)
{
    size_t n = size;

    buf[0] = '\0';
    if (!rk || rd_kafka_conf_get(rd_kafka_conf((rd_kafka_t *)(uintptr_t)rk), "sasl.username",
                                 buf, &n) != RD_KAFKA_CONF_OK)
        buf[0] = '\0';
}

static void td_kafka_refusal_note(const char *msg)
{
    pthread_mutex_lock(&td_kafka_refusal_lock);
    if (!td_kafka_refusal_set) {
        snprintf(td_kafka_refusal_msg, sizeof(td_kafka_refusal_msg), "%s", msg);
        td_kafka_refusal_set = true;
    }
    pthread_mutex_unlock(&td_kafka_refusal_lock);
}

int td_kafka_refusal_error(const rd_kafka_t *rk, rd_kafka_resp_err_t code, const char *operation,
                           const char *resource, const char *detail, td_error *err)
{
    char user[256], mech[64], scram[256] = "", msg[sizeof(td_kafka_refusal_msg)];
    const char *d = td_kafka_strip_thread(detail);
    size_t n = sizeof(mech);

    td_kafka_principal(rk, user, sizeof(user));
    if (!rk || rd_kafka_conf_get(rd_kafka_conf((rd_kafka_t *)(uintptr_t)rk), "sasl.mechanisms",
                                 mech, &n) != RD_KAFKA_CONF_OK)
        mech[0] = '\0';
    /* librdkafka before 2.6.1 sends a SCRAM nonce that Kafka 3.8.1 and
     * later refuse whatever the password (librdkafka#4895) */
    if (strncasecmp(mech, "SCRAM", 5) == 0 && rd_kafka_version() < 0x020601ff)
        snprintf(scram, sizeof(scram), " (with librdkafka %s, SCRAM fails against Kafka "
                 "3.8.1 and later even with the right password: use sasl.mechanisms PLAIN "
                 "inside SASL_SSL, see docs/security.md)", rd_kafka_version_str());
    if (code == RD_KAFKA_RESP_ERR__AUTHENTICATION ||
        code == RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED)
        snprintf(msg, sizeof(msg), "kafka: authentication failed for user %s%s%s "
                 "(kafka.sasl.username)%s%s: check kafka.sasl.username, kafka.sasl.password "
                 "and kafka.sasl.mechanisms%s; not retrying", user[0] ? "\"" : "",
                 user[0] ? user : "(none)", user[0] ? "\"" : "", *d ? ": " : "", d, scram);
    else if (code == RD_KAFKA_RESP_ERR__SSL)
        snprintf(msg, sizeof(msg), "kafka: the brokers' TLS certificate is not trusted%s%s: "
                 "check kafka.ssl.ca.location (the CA that signed the brokers' certificates) "
                 "and that bootstrap.servers names the hosts in the certificates; not retrying",
                 *d ? ": " : "", d);
    else
        snprintf(msg, sizeof(msg), "kafka: not authorised: user %s%s%s may not %s%s%s (%s)%s%s: "
                 "the brokers' ACLs do not allow it (docs/security.md); not retrying",
                 user[0] ? "\"" : "", user[0] ? user : "(none)", user[0] ? "\"" : "",
                 operation ? operation : "do this", resource ? " " : "",
                 resource ? resource : "", rd_kafka_err2name(code), *d ? ": " : "", d);
    td_kafka_refusal_note(msg);
    return td_error_set(err, -EACCES, "%s", msg);
}

int td_kafka_refused(td_error *err)
{
    char msg[sizeof(td_kafka_refusal_msg)];
    bool set;

    pthread_mutex_lock(&td_kafka_refusal_lock);
    set = td_kafka_refusal_set;
    if (set)
        memcpy(msg, td_kafka_refusal_msg, sizeof(msg));
    pthread_mutex_unlock(&td_kafka_refusal_lock);
    if (!set)
        return 0;
    return td_error_set(err, -EACCES, "%s", msg);
}

/* librdkafka retries a failed authentication and an untrusted certificate
 * for ever, and reports them to the error callback only when the
 * application polls; its log line comes at once, from the thread that met
 * them (librdkafka 2.0.2: facility FAIL, "SASL authentication error: ...",
 * "SSL handshake failed: ...: certificate verify failed"). */
void td_kafka_note_log(const rd_kafka_t *rk, const char *fac, const char *buf)
{
    if (fac && buf && strcmp(fac, "ADDPARTS") == 0 && strstr(buf, "authorization failed")) {
        /* librdkafka 2.0.2: Failed to add partition "TOPIC" [N] to transaction: ... */
        const char *q = strstr(buf, "partition \""), *e = q ? strchr(q + 11, '"') : NULL;

        if (q && e) {
            pthread_mutex_lock(&td_kafka_refusal_lock);
            snprintf(td_kafka_denied_topic, sizeof(td_kafka_denied_topic), "%.*s",
                     (int)(e - (q + 11)), q + 11);
            pthread_mutex_unlock(&td_kafka_refusal_lock);
        }
        return;
    }
    if (!fac || !buf || strcmp(fac, "FAIL") != 0)
        return;
    if (strstr(buf, "SASL authentication error") || strstr(buf, "SASL authentication failed"))
        (void)td_kafka_refusal_error(rk, RD_KAFKA_RESP_ERR__AUTHENTICATION, NULL, NULL, buf,
                                     NULL);
    else if (strstr(buf, "certificate verify failed"))
        (void)td_kafka_refusal_error(rk, RD_KAFKA_RESP_ERR__SSL, NULL, NULL, buf, NULL);
}

/* ---- logging -------------------------------------------------------------- */

static td_log_level td_kafka_log_level(int syslog_level)
{
    if (syslog_level <= TD_LOG_ERR)
        return TD_LOG_ERR;
    if (syslog_level >= TD_LOG_DEBUG)
        return TD_LOG_DEBUG;
    return (td_log_level)syslog_level;
}

/* Called from librdkafka's threads; td_log is thread-safe. */
static void td_kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    td_kafka_note_log(rk, fac, buf);
    td_log_component(td_kafka_log_level(level), "rdkafka", "%s: %s: %s",
                     rk ? rd_kafka_name(rk) : "rdkafka", fac ? fac : "-", buf ? buf : "");
}

/* Called from rd_kafka_poll() / rd_kafka_consumer_poll() / flush, i.e. from
 * the application's thread that serves the client. */
static void td_kafka_error_cb(rd_kafka_t *rk, int code, const char *reason, void *opaque)
{
    (void)opaque;
    td_kafka_error_log(rk, code, reason);
}

void td_kafka_error_log(rd_kafka_t *rk, int code, const char *reason)
{
    if (td_kafka_err_is_refusal((rd_kafka_resp_err_t)code) ||
        (code == RD_KAFKA_RESP_ERR__SSL && reason && strstr(reason, "certificate verify failed")))
        (void)td_kafka_refusal_error(rk, (rd_kafka_resp_err_t)code, NULL, NULL, reason, NULL);
    if (code == RD_KAFKA_RESP_ERR__FATAL) {
        char why[TD_KAFKA_ERRSTR] = "";
        rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, why, sizeof(why));

        td_log_component(TD_LOG_ERR, "rdkafka", "%s: fatal error %s: %s", rd_kafka_name(rk),
                         rd_kafka_err2name(orig), why[0] ? why : reason);
        return;
    }
    td_log_component(TD_LOG_WARNING, "rdkafka", "%s: %s: %s", rd_kafka_name(rk),
                     rd_kafka_err2name((rd_kafka_resp_err_t)code), reason ? reason : "");
}

void td_kafka_conf_set_logging(rd_kafka_conf_t *conf)
{
    if (!conf)
        return;
    rd_kafka_conf_set_log_cb(conf, td_kafka_log_cb);
    rd_kafka_conf_set_error_cb(conf, td_kafka_error_cb);
}

/* ---- client configurations ------------------------------------------------ */

/* Reads key from conf into buf; an unset (or unknown) property reads as "". */
static void td_kafka_conf_read(const rd_kafka_conf_t *conf, const char *key, char *buf,
                               size_t size)
{
    size_t n = size;

    if (rd_kafka_conf_get(conf, key, buf, &n) != RD_KAFKA_CONF_OK)
        buf[0] = '\0';
}

static int td_kafka_conf_set_all(rd_kafka_conf_t *conf, const td_kafka_setting *s, size_t n,
                                 td_error *err)
{
    char errstr[TD_KAFKA_ERRSTR];

    for (size_t i = 0; i < n; i++) {
        if (!s[i].value)
            continue;
        if (rd_kafka_conf_set(conf, s[i].key, s[i].value, errstr, sizeof(errstr)) !=
            RD_KAFKA_CONF_OK)
            return td_error_set(err, -EINVAL, "kafka.%s: tuodi's own setting rejected: %s",
                                s[i].key, errstr);
    }
    return 0;
}

#define TD_KAFKA_MAX_FIXED 8
/* Longest fixed value compared (group.id, transactional.id, ...); a longer
 * one would read back as "" and a change to it would go unnoticed. */
#define TD_KAFKA_MAX_VALUE 1024

/* Rejects the first user prop that would change one of the fixed settings,
 * directly or through an alias. Works on a scratch conf that holds only the
 * fixed settings: apply each prop there and see whether any fixed setting
 * reads back differently. */
static int td_kafka_check_fixed(const td_kafka_setting *fixed, size_t nfixed,
                                const td_kafka_props *user, td_error *err)
{
    char want[TD_KAFKA_MAX_FIXED][TD_KAFKA_MAX_VALUE], now[TD_KAFKA_MAX_VALUE];
    char errstr[TD_KAFKA_ERRSTR];
    rd_kafka_conf_t *scratch = NULL;
    int r = 0;

    if (!user || user->n == 0)
        return 0;
    if (nfixed > TD_KAFKA_MAX_FIXED)
        return td_error_set(err, -EINVAL, "kafka: too many fixed settings");
    for (size_t i = 0; i < nfixed; i++)
        if (fixed[i].value && strlen(fixed[i].value) >= TD_KAFKA_MAX_VALUE)
            return td_error_set(err, -EINVAL, "kafka.%s: longer than %d bytes", fixed[i].key,
                                TD_KAFKA_MAX_VALUE - 1);
    scratch = rd_kafka_conf_new();
    if (!scratch)
        return td_error_set(err, -ENOMEM, "kafka: out of memory");
    r = td_kafka_conf_set_all(scratch, fixed, nfixed, err);
    if (r < 0)
        goto out;
    for (size_t i = 0; i < nfixed; i++)
        td_kafka_conf_read(scratch, fixed[i].key, want[i], sizeof(want[i]));

    for (size_t u = 0; u < user->n; u++) {
        const td_kafka_prop *prop = &user->v[u];

        if (rd_kafka_conf_set(scratch, prop->key, prop->value, errstr, sizeof(errstr)) !=
            RD_KAFKA_CONF_OK)
            continue; /* td_kafka_conf_apply reports it */
        for (size_t i = 0; i < nfixed; i++) {
            char why[TD_KAFKA_MAX_VALUE + 128];

            td_kafka_conf_read(scratch, fixed[i].key, now, sizeof(now));
            if (strcmp(now, want[i]) == 0)
                continue;
            if (fixed[i].value)
                snprintf(why, sizeof(why), "tuodi requires %s=%s; remove this setting",
                         fixed[i].key, fixed[i].value);
            else
                snprintf(why, sizeof(why), "%s is set by tuodi, not here; remove this setting",
                         fixed[i].key);
            r = td_kafka_prop_error(err, -EINVAL, prop, why);
            goto out;
        }
    }
out:
    rd_kafka_conf_destroy(scratch);
    return r;
}

/* Builds a conf from defaults < user props < fixed settings. */
static int td_kafka_conf_build(const td_kafka_setting *defaults, size_t ndefaults,
                               const td_kafka_setting *fixed, size_t nfixed,
                               const char *bootstrap, const td_kafka_props *user,
                               rd_kafka_conf_t **ret_conf, td_error *err)
{
    const td_kafka_setting boot[] = { { "bootstrap.servers", bootstrap } };
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    int r;

    if (!conf)
        return td_error_set(err, -ENOMEM, "kafka: out of memory");
    r = td_kafka_conf_set_all(conf, boot, 1, err);
    if (r < 0)
        goto fail;
    r = td_kafka_conf_set_all(conf, defaults, ndefaults, err);
    if (r < 0)
        goto fail;
    r = td_kafka_conf_apply(conf, user, err);
    if (r < 0)
        goto fail;
    r = td_kafka_check_fixed(fixed, nfixed, user, err);
    if (r < 0)
        goto fail;
    r = td_kafka_conf_set_all(conf, fixed, nfixed, err);
    if (r < 0)
        goto fail;
    td_kafka_conf_set_logging(conf);
    *ret_conf = conf;
    return 0;

fail:
    rd_kafka_conf_destroy(conf);
    return r;
}

/* How soon a client notices that a broker died and its partitions or its
 * transaction or group coordinator moved. librdkafka 2.0.2 asks for the new
 * coordinator when its connection to the old one fails again, that is after
 * the reconnect backoff, which grows to reconnect.backoff.max.ms (10 s by
 * default): with a node SIGKILLed, a transactional producer's start took
 * 12-18 s (Kafka fences the node after about 8 s), with 2 s at most 10-12 s,
 * for one more connection attempt every 2 s to a dead broker. A host that
 * is gone (no RST) holds a connection attempt for
 * socket.connection.setup.timeout.ms, 30 s by default; Java clients use 10 s.
 */
#define TD_KAFKA_FAILOVER_DEFAULTS \
    { "reconnect.backoff.max.ms", "2000" }, { "socket.connection.setup.timeout.ms", "10000" }

/* Requests leave at once (TCP_NODELAY), as with Java's clients. librdkafka
 * writes a request with TLS as several TLS records (a write per buffer
 * segment); with Nagle's algorithm on, the later ones waited for the
 * broker's delayed ACK. Measured on the secured dev broker (tests/bench,
 * docs/benchmarks.md): tuodi-matchd's alert latency p50 240-260 ms against
 * 85-90 ms in plaintext, 85-90 ms with Nagle off; the raw consume-produce
 * baseline 0.65-0.70 of plaintext, 0.93-0.99 with it off. */
#define TD_KAFKA_SOCKET_DEFAULTS { "socket.nagle.disable", "true" }

int td_kafka_producer_conf_new(const char *bootstrap, const char *transactional_id,
                               const td_kafka_props *user, rd_kafka_conf_t **ret,
                               td_error *err)
{
    /* linger.ms: records arrive in bursts (files, table scans); 20 ms fills
     * batches without a latency anyone notices, and commit_transaction()
     * flushes anyway. lz4: cheap on the CPU, good on repetitive records.
     * reconnect.backoff.max.ms and socket.connection.setup.timeout.ms: see
     * TD_KAFKA_FAILOVER_DEFAULTS; socket.nagle.disable: see
     * TD_KAFKA_SOCKET_DEFAULTS. allow.auto.create.topics: a producer's
     * metadata request (matchd waiting for its roster topic, a record for a
     * topic not made yet) would make a broker with Kafka's default
     * auto.create.topics.enable=true create the topic with the broker's
     * defaults (the roster not compacted, records kept 7 days); tuodi makes
     * its topics itself. librdkafka's producer default is true. */
    static const td_kafka_setting defaults[] = {
        { "allow.auto.create.topics", "false" },
        { "linger.ms", "20" },
        { "batch.size", "1000000" },
        { "compression.type", "lz4" },
        { "log.connection.close", "false" },
        TD_KAFKA_FAILOVER_DEFAULTS,
        TD_KAFKA_SOCKET_DEFAULTS,
    };
    const td_kafka_setting fixed[] = {
        { "enable.idempotence", "true" },
        { "acks", "all" },
        { "partitioner", "murmur2_random" },
        { "transactional.id", transactional_id },
    };

    if (!ret)
        return td_error_set(err, -EINVAL, "kafka producer: no place for the result");
    if (transactional_id && !*transactional_id)
        return td_error_set(err, -EINVAL, "kafka producer: empty transactional.id");
    return td_kafka_conf_build(defaults, sizeof(defaults) / sizeof(defaults[0]), fixed,
                               sizeof(fixed) / sizeof(fixed[0]), bootstrap, user, ret, err);
}

int td_kafka_consumer_conf_new(const char *bootstrap, const char *group_id,
                               const td_kafka_props *user, rd_kafka_conf_t **ret,
                               td_error *err)
{
    static const td_kafka_setting defaults[] = {
        { "auto.offset.reset", "earliest" },
        { "partition.assignment.strategy", "roundrobin" },
        { "log.connection.close", "false" },
        TD_KAFKA_FAILOVER_DEFAULTS,
        TD_KAFKA_SOCKET_DEFAULTS,
    };
    const td_kafka_setting fixed[] = {
        { "group.id", group_id },
        { "isolation.level", "read_committed" },
        { "enable.auto.commit", "false" },
    };
    const td_kafka_prop *strategy;
    rd_kafka_conf_t *conf = NULL;
    char value[256];
    int r;

    if (!ret)
        return td_error_set(err, -EINVAL, "kafka consumer: no place for the result");
    if (!group_id || !*group_id)
        return td_error_set(err, -EINVAL, "kafka consumer: no group.id");
    r = td_kafka_conf_build(defaults, sizeof(defaults) / sizeof(defaults[0]), fixed,
                            sizeof(fixed) / sizeof(fixed[0]), bootstrap, user, &conf, err);
    if (r < 0)
        return r;
    td_kafka_conf_read(conf, "partition.assignment.strategy", value, sizeof(value));
    if (strstr(value, "cooperative")) {
        strategy = td_kafka_props_find(user, "partition.assignment.strategy");
        if (strategy)
            r = td_kafka_prop_error(err, -EINVAL, strategy,
                                    "tuodi supports only the eager strategies range and "
                                    "roundrobin (librdkafka 2.0.2's cooperative rebalancing "
                                    "does not mix well with transactions)");
        else
            r = td_error_set(err, -EINVAL, "kafka.partition.assignment.strategy: %s is not "
                             "supported", value);
        rd_kafka_conf_destroy(conf);
        return r;
    }
    *ret = conf;
    return 0;
}

int td_kafka_new(rd_kafka_type_t type, rd_kafka_conf_t *conf, rd_kafka_t **ret, td_error *err)
{
    char errstr[TD_KAFKA_ERRSTR] = "";
    const char *what = type == RD_KAFKA_PRODUCER ? "producer" : "consumer";
    rd_kafka_t *rk;

    if (!conf)
        return td_error_set(err, -EINVAL, "kafka %s: no configuration", what);
    if (!ret) {
        rd_kafka_conf_destroy(conf);
        return td_error_set(err, -EINVAL, "kafka %s: no place for the result", what);
    }
    rk = rd_kafka_new(type, conf, errstr, sizeof(errstr));
    if (!rk) {
        /* rd_kafka_new() keeps conf on failure; we promised to take it. */
        rd_kafka_conf_destroy(conf);
        return td_error_set(err, -EINVAL, "kafka %s: %s", what, errstr);
    }
    if (type == RD_KAFKA_CONSUMER)
        (void)rd_kafka_poll_set_consumer(rk); /* fails only without group.id */
    *ret = rk;
    return 0;
}

rd_kafka_t *td_kafka_destroy(rd_kafka_t *rk)
{
    if (!rk)
        return NULL;
    if (rd_kafka_type(rk) == RD_KAFKA_CONSUMER && td_signal_stop_requested()) {
        /* rd_kafka_consumer_close() waits for the group coordinator, up to
         * about session.timeout.ms (45 s) while the broker is away. tuodi's
         * consumers commit only inside transactions, and its static members
         * (matchd) would not send LeaveGroup anyway: nothing to lose. */
        rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
        return NULL;
    }
    if (rd_kafka_type(rk) == RD_KAFKA_CONSUMER)
        (void)rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return NULL;
}

/* ---- topics --------------------------------------------------------------- */

static int td_kafka_create_error(rd_kafka_resp_err_t code)
{
    switch (code) {
    case RD_KAFKA_RESP_ERR_INVALID_PARTITIONS:
    case RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR:
    case RD_KAFKA_RESP_ERR_INVALID_REPLICA_ASSIGNMENT:
    case RD_KAFKA_RESP_ERR_INVALID_CONFIG:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
    case RD_KAFKA_RESP_ERR_INVALID_REQUEST:
        return -EINVAL;
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
        return -EACCES;
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
        return -ETIMEDOUT;
    default:
        return -EIO;
    }
}

static int td_kafka_remaining_ms(int64_t deadline)
{
    int64_t left = deadline - td_time_mono_ms();

    if (left <= 0)
        return 0;
    return left > INT32_MAX ? INT32_MAX : (int)left;
}

/* Admin requests while a node is down.
 *
 * librdkafka 2.0.2 sends CreateTopics, and DescribeConfigs of topics, to the
 * controller named in its cached metadata. A KRaft broker answers a Metadata
 * request with a random live broker as "controller" (every broker forwards
 * admin requests to the active controller), and a node that was just killed
 * counts as live until its session times out (broker.session.timeout.ms,
 * 9 s by default). A client that learns such a controller waits for it until
 * the request times out ("Failed while waiting for controller: Local: Timed
 * out") and learns no other, because the controller lookup refreshes the
 * metadata only while no controller is known at all. Meanwhile every state
 * change of the dead broker wakes the lookup (rd_kafka_broker_controller_async),
 * which asks for a connection (rd_kafka_broker_schedule_connection), and the
 * broker thread handles that by resetting its reconnect backoff
 * (RD_KAFKA_OP_CONNECT sets rkb_ts_reconnect = 0): connect, refused, connect,
 * without a pause. That is the loop of hundreds of thousands of attempts in
 * 30 s, and no reconnect.backoff.ms / reconnect.backoff.max.ms setting slows
 * it down. An explicit target broker that is down loops the same way
 * (rd_kafka_broker_get_async).
 *
 * So: topics are described from a Metadata response first and only the
 * missing ones are created; CreateTopics goes to the broker that has just
 * answered that Metadata request (rd_kafka_AdminOptions_set_broker), which is
 * up; and each attempt is short (TD_KAFKA_ATTEMPT_MS), so that if that broker
 * dies meanwhile the next attempt asks another one. A ZooKeeper-mode broker
 * that is not the controller refuses CreateTopics with NOT_CONTROLLER: then
 * the next attempt goes to the controller. */

/* Longest single Metadata or CreateTopics attempt. */
#define TD_KAFKA_ATTEMPT_MS 5000
/* Metadata requests until one is answered by a broker with a known node id. */
#define TD_KAFKA_NODE_TRIES 3

static int td_kafka_attempt_ms(int64_t deadline)
{
    int left = td_kafka_remaining_ms(deadline);

    if (left < 1)
        return 1;
    return left > TD_KAFKA_ATTEMPT_MS ? TD_KAFKA_ATTEMPT_MS : left;
}

/* rd_kafka_queue_poll() for at most wait_ms, in slices; NULL when nothing
 * came, with *stopped set when a stop request ended the wait. */
static rd_kafka_event_t *td_kafka_queue_wait(rd_kafka_queue_t *queue, int wait_ms,
                                             bool *stopped)
{
    int64_t deadline = td_time_mono_ms() + wait_ms;

    *stopped = false;
    for (;;) {
        int left = td_kafka_remaining_ms(deadline);
        rd_kafka_event_t *ev =
            rd_kafka_queue_poll(queue, left < TD_KAFKA_SLICE_MS ? left : TD_KAFKA_SLICE_MS);

        if (ev)
            return ev;
        if (td_signal_stop_requested()) {
            *stopped = true;
            return NULL;
        }
        if (left == 0)
            return NULL;
    }
}

rd_kafka_resp_err_t td_kafka_metadata(rd_kafka_t *rk, int timeout_ms,
                                      const struct rd_kafka_metadata **ret)
{
    int64_t deadline;

    if (!rk || !ret)
        return RD_KAFKA_RESP_ERR__INVALID_ARG;
    deadline = td_time_mono_ms() + (timeout_ms > 0 ? timeout_ms : 1);
    for (int i = 1;; i++) {
        const struct rd_kafka_metadata *md = NULL;
        int left = td_kafka_remaining_ms(deadline);
        rd_kafka_resp_err_t x;

        if (td_signal_stop_requested())
            return RD_KAFKA_RESP_ERR__INTR;
        if (left > TD_KAFKA_METADATA_SLICE_MS)
            left = TD_KAFKA_METADATA_SLICE_MS;
        x = rd_kafka_metadata(rk, 1, NULL, &md, left > 0 ? left : 1);
        if (x == RD_KAFKA_RESP_ERR__TIMED_OUT && td_kafka_remaining_ms(deadline) > 0) {
            i--; /* a slice ran out: not an answer */
            continue;
        }
        if (x != RD_KAFKA_RESP_ERR_NO_ERROR)
            return x;
        /* The first request of a new client may go to a bootstrap broker,
         * whose id librdkafka learns from this very answer; it prefers
         * brokers with a known id from now on. */
        if (md->orig_broker_id >= 0 || i == TD_KAFKA_NODE_TRIES ||
            td_kafka_remaining_ms(deadline) == 0) {
            *ret = md;
            return RD_KAFKA_RESP_ERR_NO_ERROR;
        }
        rd_kafka_metadata_destroy(md);
    }
}

rd_kafka_resp_err_t td_kafka_topic_metadata(rd_kafka_t *rk, const char *topic, int timeout_ms,
                                            const struct rd_kafka_metadata **ret)
{
    rd_kafka_topic_t *rkt;
    int64_t deadline;
    rd_kafka_resp_err_t x;

    if (!rk || !topic || !ret)
        return RD_KAFKA_RESP_ERR__INVALID_ARG;
    rkt = rd_kafka_topic_new(rk, topic, NULL);
    if (!rkt)
        return rd_kafka_last_error();
    deadline = td_time_mono_ms() + (timeout_ms > 0 ? timeout_ms : 1);
    for (;;) {
        int left = td_kafka_remaining_ms(deadline);
        const struct rd_kafka_metadata *md = NULL;

        if (td_signal_stop_requested()) {
            x = RD_KAFKA_RESP_ERR__INTR;
            break;
        }
        if (left > TD_KAFKA_METADATA_SLICE_MS)
            left = TD_KAFKA_METADATA_SLICE_MS;
        x = rd_kafka_metadata(rk, 0, rkt, &md, left > 0 ? left : 1);
        if (x == RD_KAFKA_RESP_ERR__TIMED_OUT && td_kafka_remaining_ms(deadline) > 0)
            continue;
        if (x == RD_KAFKA_RESP_ERR_NO_ERROR)
            *ret = md;
        break;
    }
    rd_kafka_topic_destroy(rkt);
    return x;
}

/* What md says of spec: 1 ready (every partition has a leader), 0 not yet
 * (*missing tells whether it does not exist; why says what is missing), or
 * -EEXIST when it has another number of partitions. */
static int td_kafka_topic_state(rd_kafka_t *rk, const struct rd_kafka_metadata *md,
                                const td_kafka_topic_spec *spec, bool *missing, char *why,
                                size_t whysize, td_error *err)
{
    const struct rd_kafka_metadata_topic *t = NULL;

    *missing = false;
    for (int i = 0; i < md->topic_cnt && !t; i++)
        if (strcmp(md->topics[i].topic, spec->name) == 0)
            t = &md->topics[i];
    if (t && t->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED) {
        /* Kafka says this whether or not the topic exists (no Describe ACL) */
        char res[300];

        snprintf(res, sizeof(res), "topic %s", spec->name);
        return td_kafka_refusal_error(rk, t->err, "Describe", res, NULL, err);
    }
    if (!t || t->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
        *missing = true;
        snprintf(why, whysize, "kafka topic %s: does not exist", spec->name);
        return 0;
    }
    if (t->partition_cnt > 0 && t->partition_cnt != spec->partitions)
        return td_error_set(err, -EEXIST, "kafka topic %s exists with %d partitions, not %d",
                            spec->name, t->partition_cnt, spec->partitions);
    if (t->err != RD_KAFKA_RESP_ERR_NO_ERROR || t->partition_cnt == 0) {
        snprintf(why, whysize, "kafka topic %s: %s", spec->name,
                 t->err ? rd_kafka_err2str(t->err) : "no partitions yet");
        return 0;
    }
    for (int p = 0; p < t->partition_cnt; p++) {
        const struct rd_kafka_metadata_partition *mp = &t->partitions[p];

        /* REPLICA_NOT_AVAILABLE: a follower is down, the leader serves */
        if (mp->leader < 0 || (mp->err != RD_KAFKA_RESP_ERR_NO_ERROR &&
                               mp->err != RD_KAFKA_RESP_ERR_REPLICA_NOT_AVAILABLE)) {
            snprintf(why, whysize, "kafka topic %s: no leader for partition %d%s%s", spec->name,
                     (int)mp->id, mp->err ? ": " : "", mp->err ? rd_kafka_err2str(mp->err) : "");
            return 0;
        }
    }
    return 1;
}

/* One CreateTopics attempt for the specs marked missing, sent to broker_id
 * (-1: the controller), waiting at most wait_ms. Returns 0 when answered or
 * failed in a way worth another attempt (why says how), or a negative errno
 * when the broker refused a topic for good (bad spec, not authorised). Sets
 * *to_controller when the broker is not the controller of a ZooKeeper-mode
 * cluster. */
static int td_kafka_create_missing(rd_kafka_t *rk, const td_kafka_topic_spec *specs,
                                   const bool *missing, size_t n, int32_t broker_id,
                                   int wait_ms, bool *to_controller, char *why, size_t whysize,
                                   td_error *err)
{
    char errstr[TD_KAFKA_ERRSTR];
    rd_kafka_NewTopic_t **newt = NULL;
    rd_kafka_AdminOptions_t *options = NULL;
    rd_kafka_queue_t *queue = NULL;
    rd_kafka_event_t *ev = NULL;
    const rd_kafka_CreateTopics_result_t *res;
    const rd_kafka_topic_result_t **results;
    size_t m = 0, nres = 0;
    bool stopped;
    int r = 0;

    newt = calloc(n, sizeof(*newt));
    if (!newt)
        return td_error_set(err, -ENOMEM, "kafka: out of memory");
    for (size_t i = 0; i < n; i++) {
        const td_kafka_props *cfg = specs[i].config;

        if (!missing[i])
            continue;
        newt[m] = rd_kafka_NewTopic_new(specs[i].name, specs[i].partitions,
                                        specs[i].replication_factor, errstr, sizeof(errstr));
        if (!newt[m]) {
            r = td_error_set(err, -EINVAL, "kafka topic %s: %s", specs[i].name, errstr);
            goto out;
        }
        m++;
        for (size_t c = 0; cfg && c < cfg->n; c++) {
            if (rd_kafka_NewTopic_set_config(newt[m - 1], cfg->v[c].key, cfg->v[c].value)) {
                r = td_error_set(err, -EINVAL, "%s%skafka topic %s: config %s rejected",
                                 cfg->v[c].origin ? cfg->v[c].origin : "",
                                 cfg->v[c].origin ? ": " : "", specs[i].name, cfg->v[c].key);
                goto out;
            }
        }
    }

    options = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    queue = rd_kafka_queue_new(rk);
    if (!options || !queue) {
        r = td_error_set(err, -ENOMEM, "kafka: out of memory");
        goto out;
    }
    if (rd_kafka_AdminOptions_set_request_timeout(options, wait_ms, errstr, sizeof(errstr)) ||
        rd_kafka_AdminOptions_set_operation_timeout(options, wait_ms, errstr, sizeof(errstr)) ||
        (broker_id >= 0 &&
         rd_kafka_AdminOptions_set_broker(options, broker_id, errstr, sizeof(errstr)))) {
        r = td_error_set(err, -EINVAL, "kafka: create topics: %s", errstr);
        goto out;
    }
    rd_kafka_CreateTopics(rk, newt, m, options, queue);

    /* The result comes as one event; nothing else is sent to this queue. */
    ev = td_kafka_queue_wait(queue, wait_ms + 1000, &stopped);
    if (!ev && stopped) {
        r = td_error_set(err, -EINTR, "kafka: create topics: a stop was requested");
        goto out;
    }
    if (!ev) {
        snprintf(why, whysize, "kafka: create topics: no answer in %d ms", wait_ms);
        goto out;
    }
    if (rd_kafka_event_error(ev)) {
        rd_kafka_resp_err_t code = rd_kafka_event_error(ev);

        if (code == RD_KAFKA_RESP_ERR__TIMED_OUT || code == RD_KAFKA_RESP_ERR__TRANSPORT)
            snprintf(why, whysize, "kafka: create topics: %s", rd_kafka_event_error_string(ev));
        else
            r = td_error_set(err, td_kafka_create_error(code), "kafka: create topics: %s",
                             rd_kafka_event_error_string(ev));
        goto out;
    }
    res = rd_kafka_event_CreateTopics_result(ev);
    results = res ? rd_kafka_CreateTopics_result_topics(res, &nres) : NULL;
    for (size_t i = 0; i < nres; i++) {
        rd_kafka_resp_err_t code = rd_kafka_topic_result_error(results[i]);
        const char *name = rd_kafka_topic_result_name(results[i]);
        const char *text = rd_kafka_topic_result_error_string(results[i]);

        if (!text)
            text = rd_kafka_err2str(code);
        switch (code) {
        case RD_KAFKA_RESP_ERR_NO_ERROR:
        case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS:
            break;
        case RD_KAFKA_RESP_ERR_NOT_CONTROLLER:
            *to_controller = true;
            __attribute__((fallthrough));
        case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
            snprintf(why, whysize, "kafka topic %s: %s: %s", name, rd_kafka_err2name(code), text);
            break;
        default:
            if (td_kafka_err_is_refusal(code)) {
                char what[300];

                snprintf(what, sizeof(what), "topic %s", name);
                r = td_kafka_refusal_error(rk, code, "Describe or Create", what, text, err);
                goto out;
            }
            r = td_error_set(err, td_kafka_create_error(code), "kafka topic %s: %s: %s", name,
                             rd_kafka_err2name(code), text);
            goto out;
        }
    }

out:
    if (ev)
        rd_kafka_event_destroy(ev);
    if (queue)
        rd_kafka_queue_destroy(queue);
    if (options)
        rd_kafka_AdminOptions_destroy(options);
    rd_kafka_NewTopic_destroy_array(newt, m);
    free(newt);
    return r;
}

int td_kafka_topics_ensure(rd_kafka_t *rk, const td_kafka_topic_spec *specs, size_t n,
                           int timeout_ms, td_error *err)
{
    char why[TD_KAFKA_ERRSTR] = "";
    int64_t deadline;
    bool *missing = NULL, to_controller = false;
    int r = 0;

    if (!rk || (!specs && n > 0) || timeout_ms <= 0)
        return td_error_set(err, -EINVAL, "kafka: create topics: bad arguments");
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!specs[i].name || !*specs[i].name || specs[i].partitions < 1 ||
            (specs[i].replication_factor < 1 && specs[i].replication_factor != -1))
            return td_error_set(err, -EINVAL, "kafka topic %s: bad name, partitions or "
                                "replication factor", specs[i].name ? specs[i].name : "(null)");
    deadline = td_time_mono_ms() + timeout_ms;
    missing = calloc(n, sizeof(*missing));
    if (!missing)
        return td_error_set(err, -ENOMEM, "kafka: out of memory");
    for (;;) {
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t x = td_kafka_metadata(rk, td_kafka_attempt_ms(deadline), &md);
        size_t nready = 0, nmissing = 0;

        r = 0;
        if (x == RD_KAFKA_RESP_ERR__INTR) {
            r = td_error_set(err, -EINTR, "kafka: create topics: a stop was requested");
            break;
        }
        if (x != RD_KAFKA_RESP_ERR_NO_ERROR) {
            snprintf(why, sizeof(why), "kafka: no broker answered a Metadata request: %s",
                     rd_kafka_err2str(x));
        } else {
            for (size_t i = 0; i < n && r >= 0; i++) {
                r = td_kafka_topic_state(rk, md, &specs[i], &missing[i], why, sizeof(why), err);
                nready += r == 1;
                nmissing += missing[i];
            }
            if (r >= 0 && nmissing > 0)
                r = td_kafka_create_missing(rk, specs, missing, n,
                                            to_controller ? -1 : md->orig_broker_id,
                                            td_kafka_attempt_ms(deadline), &to_controller, why,
                                            sizeof(why), err);
            rd_kafka_metadata_destroy(md);
            if (r < 0)
                break;
            if (nready == n) {
                r = 0;
                break;
            }
        }
        if ((r = td_kafka_refused(err)) < 0)
            break;
        if (td_kafka_remaining_ms(deadline) == 0) {
            r = td_error_set(err, -ETIMEDOUT, "%s (still after %d ms)", why, timeout_ms);
            break;
        }
        td_kafka_sleep_ms(TD_KAFKA_RETRY_PAUSE_MS);
    }
    free(missing);
    return r;
}

size_t td_kafka_batch_overhead(size_t n)
{
    /* 61: the v2 record batch header. lz4 (tuodi's compression.type): at
     * most n/255 + 16 per block, a 4-byte size per 64 KiB block, a frame
     * header and end mark of at most 23 bytes; 64 more for good measure. */
    return 61 + n / 255 + 4 * (n / 65536 + 1) + 16 + 23 + 64;
}

/* One DescribeConfigs attempt for the n topics, sent to broker_id (-1: the
 * controller), waiting at most wait_ms; fills found[] (max.message.bytes,
 * -1 when absent). 0 answered, 1 worth another attempt (why says why), or a
 * negative errno. */
static int td_kafka_describe_max_message_bytes(rd_kafka_t *rk, const char *const *topics,
                                               size_t n, int32_t broker_id, int wait_ms,
                                               int64_t *found, char *why, size_t whysize,
                                               td_error *err)
{
    char errstr[TD_KAFKA_ERRSTR];
    rd_kafka_ConfigResource_t **res = NULL;
    rd_kafka_AdminOptions_t *options = NULL;
    rd_kafka_queue_t *queue = NULL;
    rd_kafka_event_t *ev = NULL;
    const rd_kafka_DescribeConfigs_result_t *result;
    const rd_kafka_ConfigResource_t **out;
    size_t nout = 0;
    bool stopped;
    int r = 0;

    res = calloc(n, sizeof(*res));
    if (!res)
        return td_error_set(err, -ENOMEM, "kafka: out of memory");
    for (size_t i = 0; i < n; i++) {
        found[i] = -1;
        res[i] = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topics[i]);
        if (!res[i]) {
            r = td_error_set(err, -ENOMEM, "kafka: out of memory");
            goto out;
        }
    }
    options = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
    queue = rd_kafka_queue_new(rk);
    if (!options || !queue) {
        r = td_error_set(err, -ENOMEM, "kafka: out of memory");
        goto out;
    }
    if (rd_kafka_AdminOptions_set_request_timeout(options, wait_ms, errstr, sizeof(errstr)) ||
        (broker_id >= 0 &&
         rd_kafka_AdminOptions_set_broker(options, broker_id, errstr, sizeof(errstr)))) {
        r = td_error_set(err, -EINVAL, "kafka: describe topics: %s", errstr);
        goto out;
    }
    rd_kafka_DescribeConfigs(rk, res, n, options, queue);
    ev = td_kafka_queue_wait(queue, wait_ms + 1000, &stopped);
    if (!ev && stopped) {
        r = td_error_set(err, -EINTR, "kafka: describe topics: a stop was requested");
        goto out;
    }
    if (!ev) {
        snprintf(why, whysize, "kafka: describe topics: no answer in %d ms", wait_ms);
        r = 1;
        goto out;
    }
    if (rd_kafka_event_error(ev)) {
        rd_kafka_resp_err_t code = rd_kafka_event_error(ev);

        if (code == RD_KAFKA_RESP_ERR__TIMED_OUT || code == RD_KAFKA_RESP_ERR__TRANSPORT) {
            snprintf(why, whysize, "kafka: describe topics: %s", rd_kafka_event_error_string(ev));
            r = 1;
        } else {
            r = td_error_set(err, td_kafka_create_error(code), "kafka: describe topics: %s",
                             rd_kafka_event_error_string(ev));
        }
        goto out;
    }
    result = rd_kafka_event_DescribeConfigs_result(ev);
    out = result ? rd_kafka_DescribeConfigs_result_resources(result, &nout) : NULL;
    for (size_t k = 0; k < nout; k++) {
        const char *name = rd_kafka_ConfigResource_name(out[k]);
        rd_kafka_resp_err_t code = rd_kafka_ConfigResource_error(out[k]);
        const rd_kafka_ConfigEntry_t **entries;
        size_t nent = 0, i;

        for (i = 0; i < n && strcmp(topics[i], name) != 0; i++)
            ;
        if (i == n)
            continue;
        if (code != RD_KAFKA_RESP_ERR_NO_ERROR) {
            r = code == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ? -ENOENT
                                                                 : td_kafka_create_error(code);
            td_error_set(err, r, "kafka topic %s: describe: %s: %s", name,
                         rd_kafka_err2name(code),
                         rd_kafka_ConfigResource_error_string(out[k])
                             ? rd_kafka_ConfigResource_error_string(out[k])
                             : rd_kafka_err2str(code));
            goto out;
        }
        entries = rd_kafka_ConfigResource_configs(out[k], &nent);
        for (size_t e = 0; e < nent; e++) {
            const char *v = rd_kafka_ConfigEntry_value(entries[e]);
            char *end;
            long long x;

            if (strcmp(rd_kafka_ConfigEntry_name(entries[e]), "max.message.bytes") != 0 || !v)
                continue;
            errno = 0;
            x = strtoll(v, &end, 10);
            if (errno == 0 && end != v && *end == '\0' && x > 0)
                found[i] = x;
        }
    }
out:
    if (ev)
        rd_kafka_event_destroy(ev);
    if (queue)
        rd_kafka_queue_destroy(queue);
    if (options)
        rd_kafka_AdminOptions_destroy(options);
    for (size_t i = 0; i < n; i++)
        if (res[i])
            rd_kafka_ConfigResource_destroy(res[i]);
    free(res);
    return r;
}

int td_kafka_topics_max_message_bytes(rd_kafka_t *rk, const char *const *topics, size_t n,
                                      int timeout_ms, int64_t *ret, td_error *err)
{
    char why[TD_KAFKA_ERRSTR] = "";
    int64_t *found = NULL, deadline;
    int r;

    if (!rk || (!topics && n > 0) || !ret || timeout_ms <= 0)
        return td_error_set(err, -EINVAL, "kafka: describe topics: bad arguments");
    if (n == 0)
        return 0;
    found = calloc(n, sizeof(*found));
    if (!found)
        return td_error_set(err, -ENOMEM, "kafka: out of memory");
    deadline = td_time_mono_ms() + timeout_ms;
    /* Not to the cached controller, which may be a dead node: to a broker
     * that has just answered (see "Admin requests while a node is down"). */
    for (;;) {
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t x = td_kafka_metadata(rk, td_kafka_attempt_ms(deadline), &md);

        if (x == RD_KAFKA_RESP_ERR__INTR) {
            r = td_error_set(err, -EINTR, "kafka: describe topics: a stop was requested");
            break;
        }
        if (x != RD_KAFKA_RESP_ERR_NO_ERROR) {
            snprintf(why, sizeof(why), "kafka: no broker answered a Metadata request: %s",
                     rd_kafka_err2str(x));
            r = 1;
        } else {
            r = td_kafka_describe_max_message_bytes(rk, topics, n, md->orig_broker_id,
                                                    td_kafka_attempt_ms(deadline), found, why,
                                                    sizeof(why), err);
            rd_kafka_metadata_destroy(md);
        }
        if (r <= 0)
            break;
        if ((r = td_kafka_refused(err)) < 0)
            break;
        if (td_kafka_remaining_ms(deadline) == 0) {
            r = td_error_set(err, -ETIMEDOUT, "%s (still after %d ms)", why, timeout_ms);
            break;
        }
        td_kafka_sleep_ms(TD_KAFKA_RETRY_PAUSE_MS);
    }
    for (size_t i = 0; r == 0 && i < n; i++)
        if (found[i] < 0)
            r = td_error_set(err, -EIO, "kafka topic %s: describe: no max.message.bytes in the "
                             "answer", topics[i]);
    if (r == 0)
        memcpy(ret, found, n * sizeof(*ret));
    free(found);
    return r;
}

/* ---- producing ------------------------------------------------------------ */

/* Bytes of x as a zigzag varint (librdkafka's rd_uvarint_enc_i64). */
static size_t td_kafka_varint_size(size_t x)
{
    uint64_t z = (uint64_t)x << 1;
    size_t n = 1;

    while (z >= 0x80) {
        z >>= 7;
        n++;
    }
    return n;
}

size_t td_kafka_message_size(size_t key_len, size_t value_len, const rd_kafka_headers_t *hdrs)
{
    /* RD_KAFKAP_MESSAGE_V2_MAX_OVERHEAD: length (varint32, 5), attributes
     * (1), timestamp delta (varint64, 10) and offset delta, key length,
     * value length and header count (varint32, 5 each). */
    size_t n = 5 + 1 + 10 + 4 * 5 + key_len + value_len;

    for (size_t i = 0; hdrs; i++) {
        const char *name;
        const void *value;
        size_t size;

        if (rd_kafka_header_get_all(hdrs, i, &name, &value, &size) != RD_KAFKA_RESP_ERR_NO_ERROR)
            break;
        n += td_kafka_varint_size(strlen(name)) + strlen(name) + td_kafka_varint_size(size) +
             size;
    }
    return n;
}

rd_kafka_resp_err_t td_kafka_produce(rd_kafka_t *rk, const char *topic, const void *key,
                                     size_t key_len, const void *value, size_t value_len,
                                     rd_kafka_headers_t *hdrs)
{
    rd_kafka_vu_t vu[5];
    size_t n = 0;

    vu[n].vtype = RD_KAFKA_VTYPE_TOPIC;
    vu[n++].u.cstr = topic;
    if (key) {
        vu[n].vtype = RD_KAFKA_VTYPE_KEY;
        vu[n].u.mem.ptr = (void *)(uintptr_t)key;
        vu[n++].u.mem.size = key_len;
    }
    vu[n].vtype = RD_KAFKA_VTYPE_VALUE;
    vu[n].u.mem.ptr = (void *)(uintptr_t)value;
    vu[n++].u.mem.size = value_len;
    vu[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    vu[n++].u.i = RD_KAFKA_MSG_F_COPY;
    if (hdrs) {
        vu[n].vtype = RD_KAFKA_VTYPE_HEADERS;
        vu[n++].u.headers = hdrs;
    }
    for (;;) {
        rd_kafka_error_t *error = rd_kafka_produceva(rk, vu, n);
        rd_kafka_resp_err_t code;

        if (!error)
            return RD_KAFKA_RESP_ERR_NO_ERROR;
        code = rd_kafka_error_code(error);
        rd_kafka_error_destroy(error);
        if (code != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            return code;
        /* after a stop, no longer than its deadline (the broker may be
         * gone, and the queue full for good) */
        if (td_signal_budget_ms(100) == 0)
            return code;
        rd_kafka_poll(rk, td_signal_budget_ms(100));
    }
}

/* ---- transactions --------------------------------------------------------- */

td_kafka_txn_class td_kafka_txn_classify(const rd_kafka_error_t *error)
{
    if (!error)
        return TD_KAFKA_TXN_OK;
    if (rd_kafka_error_is_fatal(error))
        return TD_KAFKA_TXN_FATAL;
    if (rd_kafka_error_txn_requires_abort(error))
        return TD_KAFKA_TXN_ABORTABLE;
    if (rd_kafka_error_is_retriable(error))
        return TD_KAFKA_TXN_RETRIABLE;
    return TD_KAFKA_TXN_FATAL;
}

/* Turns error (which it destroys) of class cls into a return code and text. */
static int td_kafka_txn_fail(rd_kafka_t *rk, rd_kafka_error_t *error, td_kafka_txn_class cls,
                             const char *what, td_error *err)
{
    char fatal[TD_KAFKA_ERRSTR] = "";
    int code;
    const char *how;
    rd_kafka_resp_err_t x = rd_kafka_error_code(error);

    if (x == RD_KAFKA_RESP_ERR__FATAL)
        x = rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
    if (td_kafka_err_is_refusal(x)) {
        char tid[256], res[300];
        size_t n = sizeof(tid);

        if (rd_kafka_conf_get(rd_kafka_conf(rk), "transactional.id", tid, &n) !=
            RD_KAFKA_CONF_OK)
            tid[0] = '\0';
        if (x == RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
            snprintf(res, sizeof(res), "transactional id %s", tid);
        else if (x == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED) {
            pthread_mutex_lock(&td_kafka_refusal_lock);
            if (td_kafka_denied_topic[0])
                snprintf(res, sizeof(res), "topic %s", td_kafka_denied_topic);
            else
                snprintf(res, sizeof(res), "a topic of the transaction");
            pthread_mutex_unlock(&td_kafka_refusal_lock);
        }
        else if (x == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED)
            snprintf(res, sizeof(res), "the consumer group of the transaction");
        else
            snprintf(res, sizeof(res), "the cluster");
        code = td_kafka_refusal_error(
            rk, x, x == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED ? "Read" : "Write", res,
            fatal[0] ? fatal : rd_kafka_error_string(error), err);
        rd_kafka_error_destroy(error);
        return code;
    }
    fatal[0] = '\0';

    switch (cls) {
    case TD_KAFKA_TXN_RETRIABLE:
        code = -ETIMEDOUT;
        how = td_signal_stop_requested() ? "given up: a stop was requested"
                                         : "still failing when time ran out";
        break;
    case TD_KAFKA_TXN_ABORTABLE:
        code = -ECANCELED;
        how = "the transaction must be aborted";
        break;
    default:
        code = -ENOTRECOVERABLE;
        how = "fatal, the producer must be recreated";
        if (rd_kafka_fatal_error(rk, fatal, sizeof(fatal)) == RD_KAFKA_RESP_ERR_NO_ERROR)
            fatal[0] = '\0';
        break;
    }
    td_error_set(err, code, "kafka %s: %s: %s (%s)%s%s", rd_kafka_name(rk), what,
                 rd_kafka_error_string(error), how, fatal[0] ? ": " : "", fatal);
    rd_kafka_error_destroy(error);
    return code;
}

typedef rd_kafka_error_t *(td_kafka_txn_op)(rd_kafka_t *rk, int timeout_ms);

/* Time left until deadline, or until the stop deadline if that is sooner
 * (see "Stops" at the top). */
static int td_kafka_finish_ms(int64_t deadline)
{
    return td_signal_budget_ms(td_kafka_remaining_ms(deadline));
}

/* The next slice of a transactional call: at most TD_KAFKA_TXN_SLICE_MS,
 * at least 1 ms (0 would only poll). */
static int td_kafka_slice_ms(int left)
{
    return left < 1 ? 1 : left > TD_KAFKA_TXN_SLICE_MS ? TD_KAFKA_TXN_SLICE_MS : left;
}

/* After a retriable error: a short pause, except after a slice that simply
 * ran out (the operation goes on in the background). */
static void td_kafka_retry_pause(const rd_kafka_error_t *error, int left)
{
    if (rd_kafka_error_code(error) != RD_KAFKA_RESP_ERR__TIMED_OUT)
        td_kafka_sleep_ms(left < TD_KAFKA_RETRY_PAUSE_MS ? left : TD_KAFKA_RETRY_PAUSE_MS);
}

/* Runs op in slices, retrying retriable errors until timeout_ms has passed.
 * finishing: op finishes work (commit, abort), which a stop request cuts
 * short only at its deadline; else a stop request ends it at once (-EINTR). */
static int td_kafka_txn_run(rd_kafka_t *rk, td_kafka_txn_op *op, const char *what,
                            bool abortable, bool finishing, int timeout_ms, td_error *err)
{
    int64_t deadline;

    if (!rk || timeout_ms <= 0)
        return td_error_set(err, -EINVAL, "kafka: %s: bad arguments", what);
    deadline = td_time_mono_ms() + timeout_ms;
    for (;;) {
        int left = finishing ? td_kafka_finish_ms(deadline) : td_kafka_remaining_ms(deadline);
        rd_kafka_error_t *error;
        td_kafka_txn_class cls;

        if (!finishing && td_signal_stop_requested())
            return td_error_set(err, -EINTR, "kafka %s: %s: a stop was requested",
                                rd_kafka_name(rk), what);
        if (finishing && left == 0 && td_signal_stop_requested())
            return td_error_set(err, -ETIMEDOUT, "kafka %s: %s: not done when the stop "
                                "deadline came", rd_kafka_name(rk), what);
        error = op(rk, td_kafka_slice_ms(left));
        cls = td_kafka_txn_classify(error);
        if (cls == TD_KAFKA_TXN_OK)
            return 0;
        left = finishing ? td_kafka_finish_ms(deadline) : td_kafka_remaining_ms(deadline);
        if (cls == TD_KAFKA_TXN_RETRIABLE && td_kafka_refused(NULL) < 0) {
            rd_kafka_error_destroy(error);
            return td_kafka_refused(err);
        }
        if (cls == TD_KAFKA_TXN_RETRIABLE && left > 0) {
            td_kafka_retry_pause(error, left);
            rd_kafka_error_destroy(error);
            continue;
        }
        if (cls == TD_KAFKA_TXN_ABORTABLE && !abortable)
            cls = TD_KAFKA_TXN_FATAL;
        return td_kafka_txn_fail(rk, error, cls, what, err);
    }
}

int td_kafka_txn_init(rd_kafka_t *producer, int timeout_ms, td_error *err)
{
    return td_kafka_txn_run(producer, rd_kafka_init_transactions, "init transactions", false,
                            /* finishing= */ false, timeout_ms, err);
}

int td_kafka_txn_begin(rd_kafka_t *producer, td_error *err)
{
    rd_kafka_error_t *error;
    td_kafka_txn_class cls;

    if (!producer)
        return td_error_set(err, -EINVAL, "kafka: begin transaction: no producer");
    error = rd_kafka_begin_transaction(producer);
    cls = td_kafka_txn_classify(error);
    if (cls == TD_KAFKA_TXN_OK)
        return 0;
    /* Nothing is open that an abort could end, nor anything to retry. */
    return td_kafka_txn_fail(producer, error, TD_KAFKA_TXN_FATAL, "begin transaction", err);
}

int td_kafka_txn_commit(rd_kafka_t *producer, int timeout_ms, td_error *err)
{
    return td_kafka_txn_run(producer, rd_kafka_commit_transaction, "commit transaction", true,
                            /* finishing= */ true, timeout_ms, err);
}

int td_kafka_txn_abort(rd_kafka_t *producer, int timeout_ms, td_error *err)
{
    return td_kafka_txn_run(producer, rd_kafka_abort_transaction, "abort transaction", false,
                            /* finishing= */ true, timeout_ms, err);
}

int td_kafka_txn_send_offset_list(rd_kafka_t *producer, rd_kafka_t *consumer,
                                  const rd_kafka_topic_partition_list_t *offsets,
                                  int timeout_ms, td_error *err)
{
    rd_kafka_consumer_group_metadata_t *cgmd = NULL;
    int64_t deadline;
    int r = 0;

    if (!producer || !consumer || !offsets || timeout_ms <= 0)
        return td_error_set(err, -EINVAL, "kafka: send offsets: bad arguments");
    if (offsets->cnt == 0)
        return 0; /* nothing consumed yet: nothing to commit */
    deadline = td_time_mono_ms() + timeout_ms;
    cgmd = rd_kafka_consumer_group_metadata(consumer);
    if (!cgmd)
        return td_error_set(err, -EINVAL, "kafka %s: send offsets: the consumer has no group",
                            rd_kafka_name(consumer));
    for (;;) {
        int left = td_kafka_finish_ms(deadline);
        rd_kafka_error_t *error;
        td_kafka_txn_class cls;

        if (left == 0 && td_signal_stop_requested()) {
            r = td_error_set(err, -ETIMEDOUT, "kafka %s: send offsets to transaction: not "
                             "done when the stop deadline came", rd_kafka_name(producer));
            break;
        }
        error = rd_kafka_send_offsets_to_transaction(producer, offsets, cgmd,
                                                     td_kafka_slice_ms(left));
        cls = td_kafka_txn_classify(error);
        if (cls == TD_KAFKA_TXN_OK)
            break;
        left = td_kafka_finish_ms(deadline);
        if (cls == TD_KAFKA_TXN_RETRIABLE && left > 0) {
            td_kafka_retry_pause(error, left);
            rd_kafka_error_destroy(error);
            continue;
        }
        r = td_kafka_txn_fail(producer, error, cls, "send offsets to transaction", err);
        break;
    }
    rd_kafka_consumer_group_metadata_destroy(cgmd);
    return r;
}

int td_kafka_txn_send_offsets(rd_kafka_t *producer, rd_kafka_t *consumer, int timeout_ms,
                              rd_kafka_topic_partition_list_t **ret_offsets, td_error *err)
{
    rd_kafka_topic_partition_list_t *assigned = NULL, *offsets = NULL;
    rd_kafka_resp_err_t code;
    int r = 0;

    if (!producer || !consumer || timeout_ms <= 0)
        return td_error_set(err, -EINVAL, "kafka: send offsets: bad arguments");

    code = rd_kafka_assignment(consumer, &assigned);
    if (code == RD_KAFKA_RESP_ERR_NO_ERROR)
        code = rd_kafka_position(consumer, assigned);
    if (code != RD_KAFKA_RESP_ERR_NO_ERROR) {
        r = td_error_set(err, -EIO, "kafka %s: send offsets: cannot read positions: %s",
                         rd_kafka_name(consumer), rd_kafka_err2str(code));
        goto out;
    }
    offsets = rd_kafka_topic_partition_list_new(assigned->cnt > 0 ? assigned->cnt : 1);
    if (!offsets) {
        r = td_error_set(err, -ENOMEM, "kafka: out of memory");
        goto out;
    }
    for (int i = 0; i < assigned->cnt; i++)
        if (assigned->elems[i].offset >= 0)
            rd_kafka_topic_partition_list_add(offsets, assigned->elems[i].topic,
                                              assigned->elems[i].partition)
                ->offset = assigned->elems[i].offset;
    r = td_kafka_txn_send_offset_list(producer, consumer, offsets, timeout_ms, err);
    if (r == 0 && ret_offsets) {
        *ret_offsets = offsets;
        offsets = NULL;
    }
out:
    if (offsets)
        rd_kafka_topic_partition_list_destroy(offsets);
    if (assigned)
        rd_kafka_topic_partition_list_destroy(assigned);
    return r;
}

int td_kafka_props_check_files(const td_kafka_props *p, const char *config_path,
                               const char *section, FILE *out)
{
    static const struct {
        const char *key;
        bool dir_ok; /* a directory of certificates will do too */
    } files[] = {{"ssl.ca.location", true},       {"ssl.certificate.location", false},
                 {"ssl.key.location", false},     {"ssl.keystore.location", false},
                 {"ssl.crl.location", false},     {"sasl.kerberos.keytab", false}};
    td_check ck = {.out = out};

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        const td_kafka_prop *prop = td_kafka_props_find(p, files[i].key);
        struct stat st;
        char key[200];

        if (!prop || !prop->value[0])
            continue;
        /* "probe": librdkafka looks for the system's CA store itself */
        if (strcmp(files[i].key, "ssl.ca.location") == 0 && strcmp(prop->value, "probe") == 0)
            continue;
        snprintf(key, sizeof(key), "%s.%s", section ? section : "kafka", files[i].key);
        td_check_step(&ck, td_path_check(config_path, key, prop->value,
                                         files[i].dir_ok && stat(prop->value, &st) == 0 &&
                                                 S_ISDIR(st.st_mode)
                                             ? TD_PATH_READ_DIR : TD_PATH_READ_FILE,
                                         NULL, &ck.step));
    }
    return ck.rc;
}

/* What td_kafka_probe's client heard: its last error, instead of logs. */
typedef struct td_kafka_probe_state {
    char last[256];
} td_kafka_probe_state;

static void td_kafka_probe_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)level;
    td_kafka_note_log(rk, fac, buf);
}

static void td_kafka_probe_error(rd_kafka_t *rk, int code, const char *reason, void *opaque)
{
    td_kafka_probe_state *st = opaque;

    (void)rk;
    (void)code;
    snprintf(st->last, sizeof(st->last), "%s", reason ? reason : "");
}

int td_kafka_probe(const td_kafka_props *props, const char *const *topics, size_t n,
                   int timeout_ms, bool *ret_exists, td_error *err)
{
    td_kafka_probe_state st = {.last = ""};
    const struct rd_kafka_metadata *md = NULL;
    const td_kafka_prop *bs = td_kafka_props_find(props, "bootstrap.servers");
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_resp_err_t x;
    rd_kafka_t *rk = NULL;
    int r;

    if (!bs)
        bs = td_kafka_props_find(props, "metadata.broker.list");
    r = td_kafka_producer_conf_new(NULL, NULL, props, &conf, err);
    if (r < 0)
        return r;
    rd_kafka_conf_set_log_cb(conf, td_kafka_probe_log);
    rd_kafka_conf_set_error_cb(conf, td_kafka_probe_error);
    rd_kafka_conf_set_opaque(conf, &st);
    r = td_kafka_new(RD_KAFKA_PRODUCER, conf, &rk, err);
    if (r < 0)
        return r;
    /* in short tries, so that a refusal (a wrong password, an untrusted
     * certificate) ends the wait at once */
    {
        int64_t deadline = td_time_mono_ms() + (timeout_ms > 0 ? timeout_ms : 1);

        for (;;) {
            int left = td_kafka_remaining_ms(deadline);

            x = td_kafka_metadata(rk, left < 1 ? 1 : left > 500 ? 500 : left, &md);
            if (x == RD_KAFKA_RESP_ERR_NO_ERROR || td_kafka_remaining_ms(deadline) == 0)
                break;
            if ((r = td_kafka_refused(err)) < 0) {
                td_kafka_destroy(rk);
                return r;
            }
            if (x != RD_KAFKA_RESP_ERR__TIMED_OUT)
                td_kafka_sleep_ms(TD_KAFKA_RETRY_PAUSE_MS);
        }
    }
    if (x != RD_KAFKA_RESP_ERR_NO_ERROR) {
        r = td_error_set(err, x == RD_KAFKA_RESP_ERR__TRANSPORT ? -ECONNREFUSED : -ETIMEDOUT,
                         "no broker of bootstrap.servers %s answered within %d ms: "
                         "%s%s%s",
                         bs ? bs->value : "(unset)", timeout_ms, rd_kafka_err2str(x),
                         st.last[0] ? "; last error: " : "", st.last);
        td_kafka_destroy(rk);
        return r;
    }
    for (size_t i = 0; ret_exists && i < n; i++) {
        ret_exists[i] = false;
        for (int t = 0; t < md->topic_cnt; t++)
            if (strcmp(md->topics[t].topic, topics[i]) == 0 &&
                md->topics[t].err == RD_KAFKA_RESP_ERR_NO_ERROR)
                ret_exists[i] = true;
    }
    rd_kafka_metadata_destroy(md);
    td_kafka_destroy(rk);
    return 0;
}

int td_kafka_check_topics(const td_kafka_props *props, const char *config_path,
                          const char *const *topics, const char *const *keys, size_t n,
                          int timeout_ms, const char *hint, td_error *err)
{
    bool exists[TD_KAFKA_CHECK_TOPICS_MAX] = {false};
    td_error local = {0};
    int rc = 0, r;

    if (n > TD_KAFKA_CHECK_TOPICS_MAX)
        return td_error_set(err, -EINVAL, "td_kafka_check_topics: more than %d topics",
                            TD_KAFKA_CHECK_TOPICS_MAX);
    r = td_kafka_probe(props, topics, n, timeout_ms, exists, &local);
    if (r < 0)
        return td_path_problem(err, config_path, "kafka.bootstrap.servers", r, "%s", local.msg);
    for (size_t i = 0; i < n; i++)
        if (!exists[i]) {
            r = td_path_problem(err, config_path, keys[i], -ENOENT,
                                "topic %s does not exist (%s)", topics[i], hint);
            if (rc == 0)
                rc = r;
        }
    return rc;
}
