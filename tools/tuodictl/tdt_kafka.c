/* tdt_kafka: the schemas, and reading topics from the beginning to the end. */
#include "tdt.h"

#include "td_log.h"
#include "td_signal.h"
#include "td_time.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int tdt_registry_load(const tdt_config *c, td_avro_registry **ret, td_error *err)
{
    td_avro_registry *reg = NULL;
    char hist[4096];
    struct stat st;
    int r;

    if (td_avro_registry_new(&reg) < 0)
        return td_error_set(err, -ENOMEM, "out of memory");
    r = td_avro_registry_load_dir(reg, c->schemas_dir, NULL, err);
    if (r == 0 && !td_avro_registry_find_name(reg, "cn.tuodi.Alert"))
        r = td_error_set(err, -ENOENT, "%s: no alert.avsc (set schemas_dir: in the config)",
                         c->schemas_dir);
    snprintf(hist, sizeof(hist), "%s/history", c->schemas_dir);
    if (r == 0 && stat(hist, &st) == 0 && S_ISDIR(st.st_mode))
        r = td_avro_registry_load_dir(reg, hist, NULL, err);
    if (r < 0) {
        td_avro_registry_free(reg);
        return r;
    }
    *ret = reg;
    return 0;
}

/* ---- librdkafka's own messages ---- */

void tdt_kafka_diag_init(tdt_kafka_diag *d, bool verbose)
{
    memset(d, 0, sizeof(*d));
    pthread_mutex_init(&d->lock, NULL);
    d->verbose = verbose;
}

void tdt_kafka_diag_done(tdt_kafka_diag *d)
{
    pthread_mutex_destroy(&d->lock);
}

static void tdt_kafka_diag_keep(tdt_kafka_diag *d, const char *what)
{
    pthread_mutex_lock(&d->lock);
    snprintf(d->last, sizeof(d->last), "%s", what);
    pthread_mutex_unlock(&d->lock);
}

/* librdkafka's threads. */
static void tdt_kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    tdt_kafka_diag *d = rk ? rd_kafka_opaque(rk) : NULL;
    td_kafka_note_log(rk, fac, buf);
    td_log_level lv = level <= TD_LOG_ERR ? TD_LOG_ERR
                      : level >= TD_LOG_DEBUG ? TD_LOG_DEBUG
                                               : (td_log_level)level;
    if (d && lv <= TD_LOG_WARNING && buf)
        tdt_kafka_diag_keep(d, buf);
    if (!d || d->verbose)
        td_log_component(lv, "rdkafka", "%s: %s: %s", rk ? rd_kafka_name(rk) : "rdkafka",
                         fac ? fac : "-", buf ? buf : "");
}

bool tdt_kafka_diag_notice(tdt_kafka_diag *d, int code)
{
    if (d->verbose || !d->following || d->told_down ||
        code != RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
        return false;
    d->told_down = true;
    return true;
}

/* The thread that polls the client. */
static void tdt_kafka_error_cb(rd_kafka_t *rk, int code, const char *reason, void *opaque)
{
    tdt_kafka_diag *d = opaque;
    char why[512] = "";
    rd_kafka_resp_err_t e = (rd_kafka_resp_err_t)code;
    if (code == RD_KAFKA_RESP_ERR__FATAL)
        e = rd_kafka_fatal_error(rk, why, sizeof(why));
    if (!why[0])
        snprintf(why, sizeof(why), "%s", reason ? reason : "");
    if (td_kafka_err_is_refusal(e))
        (void)td_kafka_refusal_error(rk, e, NULL, NULL, why, NULL);
    if (d && why[0])
        tdt_kafka_diag_keep(d, why);
    if (!d || d->verbose)
        td_log_component(code == RD_KAFKA_RESP_ERR__FATAL ? TD_LOG_ERR : TD_LOG_WARNING,
                         "rdkafka", "%s: %s%s: %s", rd_kafka_name(rk),
                         code == RD_KAFKA_RESP_ERR__FATAL ? "fatal error " : "",
                         rd_kafka_err2name(e), why);
    else if (tdt_kafka_diag_notice(d, code))
        /* --follow would otherwise go quiet with nobody knowing why */
        td_log_component(TD_LOG_WARNING, "kafka", "every broker is down (%s); --follow goes "
                         "on when one is back (tuodictl -v shows librdkafka's messages)", why);
}

void tdt_kafka_diag_install(tdt_kafka_diag *d, rd_kafka_conf_t *conf)
{
    rd_kafka_conf_set_opaque(conf, d);
    rd_kafka_conf_set_log_cb(conf, tdt_kafka_log_cb);
    rd_kafka_conf_set_error_cb(conf, tdt_kafka_error_cb);
}

/* What to check, the likeliest first, judging by librdkafka's last error. */
static const char *tdt_kafka_hint(const char *last)
{
    if (strstr(last, "SASL") || strstr(last, "uthentication"))
        return "Check SASL under kafka: (sasl.mechanisms, sasl.username, sasl.password)";
    if (strstr(last, "SSL") || strstr(last, "ssl") || strstr(last, "certificate") ||
        strstr(last, "handshake"))
        return "Check TLS under kafka: (security.protocol ssl or sasl_ssl; ssl.ca.location, "
               "the CA that signed the brokers' certificates; the address must be the name in "
               "the certificate)";
    if (strstr(last, "SASL") || strstr(last, "uthentication"))
        return "Check SASL under kafka: (sasl.mechanism, sasl.username, sasl.password)";
    if (strstr(last, "resolve"))
        return "Check the host names in kafka: bootstrap.servers (they do not resolve here), "
               "then DNS";
    if (strstr(last, "refused"))
        return "Check that a broker listens there (kafka: bootstrap.servers, host:port), then "
               "the network (firewall)";
    if (strstr(last, "Disconnected") || strstr(last, "APIVERSION"))
        return "The broker closed the connection: check whether the cluster wants TLS or SASL "
               "(security.protocol, ssl.*, sasl.* under kafka:) and that kafka: "
               "bootstrap.servers names the port of that listener";
    return "Check kafka: bootstrap.servers (host:port of the brokers), that the brokers run "
           "and this host reaches them (firewall), and TLS or SASL (security.protocol, ssl.*, "
           "sasl.* under kafka:) if the cluster wants them";
}

int tdt_kafka_unreachable(tdt_kafka_diag *d, const char *tail, td_error *err,
                          const char *head, ...)
{
    char h[512], last[sizeof(d->last)];
    const char *l = last;
    va_list ap;

    va_start(ap, head);
    vsnprintf(h, sizeof(h), head, ap);
    va_end(ap);
    if (td_kafka_refused(err) < 0) {
        /* the brokers answered, and said no: that is the whole story */
        char why[sizeof(err->msg)];

        snprintf(why, sizeof(why), "%s", err->msg);
        return td_error_set(err, -EACCES, "%s%s%s", why, tail ? "; " : "", tail ? tail : "");
    }
    pthread_mutex_lock(&d->lock);
    memcpy(last, d->last, sizeof(last));
    pthread_mutex_unlock(&d->lock);
    if (strncmp(l, "[thrd:", 6) == 0 && strstr(l, "]: "))
        l = strstr(l, "]: ") + 3; /* librdkafka's thread name: not for people */
    return td_error_set(err, -ETIMEDOUT, "kafka: %s%s%s. %s. tuodictl -v shows librdkafka's "
                        "messages%s%s", h, *l ? ": " : "", l, tdt_kafka_hint(l),
                        tail ? "; " : "", tail ? tail : "");
}

rd_kafka_resp_err_t tdt_kafka_metadata(rd_kafka_t *rk, int64_t timeout_ms,
                                       const struct rd_kafka_metadata **ret)
{
    int64_t deadline = td_time_mono_ms() + timeout_ms;

    for (;;) {
        int64_t left = deadline - td_time_mono_ms();
        rd_kafka_resp_err_t x;

        x = td_kafka_metadata(rk, (int)(left < 1 ? 1 : left > 500 ? 500 : left), ret);
        if (x == RD_KAFKA_RESP_ERR_NO_ERROR || td_kafka_refused(NULL) < 0 ||
            td_time_mono_ms() >= deadline || td_signal_stop_requested())
            return x;
        if (x != RD_KAFKA_RESP_ERR__TIMED_OUT) {
            struct timespec ts = {0, 100 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
}

int tdt_kafka_topic_missing(rd_kafka_t *rk, const tdt_config *c, const char *topic,
                            const char *operation, const char *what_to_do, td_error *err)
{
    rd_kafka_topic_conf_t *tc = rd_kafka_topic_conf_new();
    rd_kafka_topic_t *rkt = tc ? rd_kafka_topic_new(rk, topic, tc) : NULL;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t x = RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;

    if (!rkt && tc)
        rd_kafka_topic_conf_destroy(tc);
    /* Asked by name, Kafka says whether this user may not see it. */
    if (rkt && rd_kafka_metadata(rk, 0, rkt, &md, (int)c->timeout_ms) ==
                   RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (md->topic_cnt == 1)
            x = md->topics[0].err;
        rd_kafka_metadata_destroy(md);
    }
    if (rkt)
        rd_kafka_topic_destroy(rkt);
    if (x == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED) {
        char res[300];

        snprintf(res, sizeof(res), "topic %s", topic);
        return td_kafka_refusal_error(rk, x, operation ? operation : "Describe", res, NULL,
                                      err);
    }
    return td_error_set(err, -ENOENT, "topic %s does not exist: %s", topic, what_to_do);
}

typedef struct tdt_part {
    const char *topic;
    int32_t partition;
    bool eof;
} tdt_part;

int tdt_kafka_read(const tdt_config *c, const char *const *topics, size_t ntopics,
                   bool missing_ok, bool follow, tdt_msg_fn *fn, tdt_caught_up_fn *caught_up,
                   void *opaque, td_error *err)
{
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_t *rk = NULL;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_partition_list_t *l = NULL;
    tdt_part *parts = NULL;
    size_t nparts = 0, neof = 0;
    bool caught = false;
    char group[96], errstr[512];
    int64_t deadline;
    rd_kafka_resp_err_t x;
    tdt_kafka_diag diag;
    int r = 0;

    if (!td_kafka_props_find(&c->kafka, "bootstrap.servers"))
        return td_error_set(err, -EINVAL, "no kafka: bootstrap.servers in the config: add the "
                            "broker addresses (host:port,...)");
    snprintf(group, sizeof(group), "tuodictl-%d-%" PRId64, (int)getpid(), td_time_wall_ms());
    r = td_kafka_consumer_conf_new(NULL, group, &c->kafka, &conf, err);
    if (r < 0)
        return r;
    if (rd_kafka_conf_set(conf, "enable.partition.eof", "true", errstr, sizeof(errstr)) !=
        RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        return td_error_set(err, -EINVAL, "kafka: %s", errstr);
    }
    tdt_kafka_diag_init(&diag, c->verbose);
    tdt_kafka_diag_install(&diag, conf);
    r = td_kafka_new(RD_KAFKA_CONSUMER, conf, &rk, err);
    if (r < 0)
        goto out;
    x = tdt_kafka_metadata(rk, c->timeout_ms, &md);
    if (x != RD_KAFKA_RESP_ERR_NO_ERROR) {
        r = tdt_kafka_unreachable(&diag, NULL, err, "cannot reach a broker at %s within %"
                                  PRId64 " ms",
                                  td_kafka_props_find(&c->kafka, "bootstrap.servers")->value,
                                  c->timeout_ms);
        md = NULL;
        goto out;
    }
    l = rd_kafka_topic_partition_list_new(16);
    for (size_t t = 0; t < ntopics; t++) {
        const struct rd_kafka_metadata_topic *mt = NULL;
        for (int i = 0; i < md->topic_cnt; i++)
            if (strcmp(md->topics[i].topic, topics[t]) == 0)
                mt = &md->topics[i];
        if (!mt || mt->err || mt->partition_cnt == 0) {
            if (missing_ok)
                continue;
            r = tdt_kafka_topic_missing(rk, c, topics[t], NULL, "check the county code and "
                                        "topic names (topics:, --prefix), or create the "
                                        "topics with 'tuodictl topics create'", err);
            goto out;
        }
        tdt_part *np = realloc(parts, (nparts + (size_t)mt->partition_cnt) * sizeof(*np));
        if (!np) {
            r = td_error_set(err, -ENOMEM, "out of memory");
            goto out;
        }
        parts = np;
        for (int p = 0; p < mt->partition_cnt; p++) {
            parts[nparts].topic = topics[t];
            parts[nparts].partition = mt->partitions[p].id;
            parts[nparts++].eof = false;
            rd_kafka_topic_partition_list_add(l, topics[t], mt->partitions[p].id)->offset =
                RD_KAFKA_OFFSET_BEGINNING;
        }
    }
    if (nparts > 0 && rd_kafka_assign(rk, l) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        r = td_error_set(err, -EIO, "kafka: cannot assign the partitions");
        goto out;
    }
    deadline = td_time_mono_ms() + c->timeout_ms;
    if (nparts == 0) {
        caught = true;
        diag.following = follow;
        if (caught_up && (r = caught_up(opaque)) != 0)
            goto out;
        if (!follow)
            goto out;
    }
    while (!td_signal_stop_requested()) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (!m) {
            if (!caught && td_time_mono_ms() > deadline) {
                r = tdt_kafka_unreachable(&diag, "or a longer timeout: in the config", err,
                                          "nothing came from the brokers for %" PRId64 " ms "
                                          "before the end of the topics", c->timeout_ms);
                goto out;
            }
            continue;
        }
        deadline = td_time_mono_ms() + c->timeout_ms; /* progress: the wait starts again */
        diag.told_down = false;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            const char *tn = rd_kafka_topic_name(m->rkt);
            for (size_t i = 0; i < nparts; i++)
                if (!parts[i].eof && parts[i].partition == m->partition &&
                    strcmp(parts[i].topic, tn) == 0) {
                    parts[i].eof = true;
                    neof++;
                }
            rd_kafka_message_destroy(m);
        } else if (m->err) {
            bool fatal = m->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
                         td_kafka_err_is_refusal(m->err);
            if (td_kafka_err_is_refusal(m->err)) {
                /* tuodictl reads with a group of its own (assigned
                 * partitions, no commits), which librdkafka still looks up:
                 * it needs Read on groups tuodictl-* (docs/security.md) */
                char res[300];
                if (m->err == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED)
                    snprintf(res, sizeof(res), "group %s", group);
                else
                    snprintf(res, sizeof(res), "topic %s",
                             m->rkt ? rd_kafka_topic_name(m->rkt) : "(unknown)");
                r = td_kafka_refusal_error(rk, m->err, "Read", res, rd_kafka_message_errstr(m),
                                           err);
            } else if (fatal)
                r = td_error_set(err, -EIO, "kafka: %s: %s",
                                 m->rkt ? rd_kafka_topic_name(m->rkt) : "",
                                 rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            if (fatal)
                goto out;
            continue;
        } else {
            r = fn(m, opaque);
            rd_kafka_message_destroy(m);
            if (r != 0)
                goto out;
        }
        if (!caught && neof == nparts) {
            caught = true;
            diag.following = follow;
            if (caught_up && (r = caught_up(opaque)) != 0)
                goto out;
            if (!follow)
                break;
        }
    }
    if (r == 0 && !caught)
        r = td_error_set(err, -EINTR, "interrupted before the end of the topics: nothing shown");
out:
    if (md)
        rd_kafka_metadata_destroy(md);
    if (l)
        rd_kafka_topic_partition_list_destroy(l);
    free(parts);
    td_kafka_destroy(rk);
    tdt_kafka_diag_done(&diag);
    return r;
}
