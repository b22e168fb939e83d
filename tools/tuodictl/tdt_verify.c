/* tdt_verify: a VerificationOutcome from the command line: checked here for
 * what tuodi-matchd would reject, then produced keyed by alert_id. */
#include "tdt.h"

#include "td_date.h"
#include "td_log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

int tdt_outcome_parse(const char *s, tdt_outcome *ret)
{
    static const struct {
        const char *name;
        tdt_outcome o;
    } t[] = {
        {"IDENTIFIED_AS_MONITORING_OBJECT", TDT_OUTCOME_IDENTIFIED},
        {"identified-as-monitoring-object", TDT_OUTCOME_IDENTIFIED},
        {"identified", TDT_OUTCOME_IDENTIFIED},
        {"识别为监测对象", TDT_OUTCOME_IDENTIFIED},
        {"ALREADY_MONITORED", TDT_OUTCOME_ALREADY_MONITORED},
        {"already-monitored", TDT_OUTCOME_ALREADY_MONITORED},
        {"已是监测对象", TDT_OUTCOME_ALREADY_MONITORED},
        {"DISMISSED", TDT_OUTCOME_DISMISSED},
        {"dismissed", TDT_OUTCOME_DISMISSED},
        {"排除", TDT_OUTCOME_DISMISSED},
        {"COULD_NOT_REACH", TDT_OUTCOME_COULD_NOT_REACH},
        {"could-not-reach", TDT_OUTCOME_COULD_NOT_REACH},
        {"无法联系", TDT_OUTCOME_COULD_NOT_REACH},
        {"DEPARTMENT_DATA_WRONG", TDT_OUTCOME_DEPARTMENT_DATA_WRONG},
        {"department-data-wrong", TDT_OUTCOME_DEPARTMENT_DATA_WRONG},
        {"部门数据有误", TDT_OUTCOME_DEPARTMENT_DATA_WRONG},
    };
    for (size_t i = 0; s && i < sizeof(t) / sizeof(t[0]); i++)
        if (strcmp(s, t[i].name) == 0) {
            *ret = t[i].o;
            return 0;
        }
    return -EINVAL;
}

const char *tdt_category_parse(const char *s)
{
    static const struct {
        const char *name, *symbol;
    } t[] = {
        {"UNSTABLE_ALLEVIATED", "UNSTABLE_ALLEVIATED"},
        {"unstable-alleviated", "UNSTABLE_ALLEVIATED"},
        {"脱贫不稳定户", "UNSTABLE_ALLEVIATED"},
        {"MARGINAL", "MARGINAL"},
        {"marginal", "MARGINAL"},
        {"边缘易致贫户", "MARGINAL"},
        {"SUDDEN_HARDSHIP", "SUDDEN_HARDSHIP"},
        {"sudden-hardship", "SUDDEN_HARDSHIP"},
        {"突发严重困难户", "SUDDEN_HARDSHIP"},
    };
    for (size_t i = 0; s && i < sizeof(t) / sizeof(t[0]); i++)
        if (strcmp(s, t[i].name) == 0)
            return t[i].symbol;
    return NULL;
}

/* A copy of s without leading and trailing ASCII white space and
 * ideographic spaces (U+3000). NULL on ENOMEM. */
static char *tdt_trim(const char *s)
{
    const char *p = s, *q = s + strlen(s);
    for (;;) {
        if (p < q && (*p == ' ' || (*p >= '\t' && *p <= '\r')))
            p++;
        else if (q - p >= 3 && memcmp(p, "\xE3\x80\x80", 3) == 0)
            p += 3;
        else
            break;
    }
    for (;;) {
        if (q > p && (q[-1] == ' ' || (q[-1] >= '\t' && q[-1] <= '\r')))
            q--;
        else if (q - p >= 3 && memcmp(q - 3, "\xE3\x80\x80", 3) == 0)
            q -= 3;
        else
            break;
    }
    return strndup(p, (size_t)(q - p));
}

/* True when s holds what td_log would mask as an identity number. */
static bool tdt_has_idnum(const char *s)
{
    char *c = strdup(s);
    bool r;
    if (!c)
        return true;
    r = td_log_redact(c) > 0;
    free(c);
    return r;
}

static bool tdt_printable_id(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x21 || s[i] > 0x7e)
            return false;
    return true;
}

void tdt_verification_done(tdt_verification *v)
{
    free(v->reason);
    free(v->verifier);
    free(v->reviewer);
    v->reason = v->verifier = v->reviewer = NULL;
}

int tdt_verify_check(const tdt_verify_input *in, tdt_verification *ret, td_error *err)
{
    tdt_verification v;
    int32_t today = tdt_day_cst(in->now_ms);
    bool suspect;
    int r;

    memset(&v, 0, sizeof(v));
    if (!in->alert_id || !tdt_printable_id(in->alert_id, 128))
        return td_error_set(err, -EINVAL, "alert id: give the id as tuodictl alerts shows it "
                            "in full (--format csv or json): 1 to 128 printable ASCII "
                            "characters");
    suspect = tdt_suspect_id_is(in->alert_id);
    if (!suspect && !in->lookup && tdt_alert_id_shortened(in->alert_id))
        return td_error_set(err, -EINVAL, "alert id %s has %zu characters, tuodi-matchd's have "
                            "%d (the table shows the first 12): give the whole id (tuodictl "
                            "alerts --county CODE --format csv shows it), or add --county CODE "
                            "to look the shortened one up", in->alert_id, strlen(in->alert_id),
                            TDT_ALERT_ID_LEN);
    snprintf(v.alert_id, sizeof(v.alert_id), "%s", in->alert_id);
    if (!in->outcome && suspect)
        return td_error_set(err, -EINVAL, "--outcome is required: for suspect %s the only "
                            "outcome is department-data-wrong (部门数据有误)", in->alert_id);
    if (!in->outcome)
        return td_error_set(err, -EINVAL, "--outcome is required: identified, "
                            "already-monitored, dismissed or could-not-reach");
    if (tdt_outcome_parse(in->outcome, &v.outcome) < 0)
        return td_error_set(err, -EINVAL, "--outcome %s: expected %s", in->outcome,
                            suspect ? "department-data-wrong (部门数据有误) for a suspect"
                                    : "identified (识别为监测对象), already-monitored "
                                      "(已是监测对象), dismissed (排除) or could-not-reach "
                                      "(无法联系)");
    if (suspect && v.outcome != TDT_OUTCOME_DEPARTMENT_DATA_WRONG)
        return td_error_set(err, -EINVAL, "--outcome %s is for alerts: %s is a suspect, whose "
                            "only outcome is department-data-wrong (部门数据有误: the roster is "
                            "right, the department's record is wrong); a suspect the village "
                            "fixes on the roster resolves itself with the next roster export",
                            in->outcome, in->alert_id);
    if (!suspect && v.outcome == TDT_OUTCOME_DEPARTMENT_DATA_WRONG)
        return td_error_set(err, -EINVAL, "--outcome department-data-wrong is for suspects "
                            "only (ids starting sus-, tuodictl suspects lists them); for alert "
                            "%s give identified, already-monitored, dismissed or "
                            "could-not-reach", in->alert_id);
    if (in->category) {
        v.category = tdt_category_parse(in->category);
        if (!v.category)
            return td_error_set(err, -EINVAL, "--category %s: expected unstable-alleviated "
                                "(脱贫不稳定户), marginal (边缘易致贫户) or sudden-hardship "
                                "(突发严重困难户)", in->category);
    }
    if (v.outcome == TDT_OUTCOME_IDENTIFIED && !v.category)
        return td_error_set(err, -EINVAL, "--outcome identified needs --category "
                            "(unstable-alleviated, marginal or sudden-hardship)");
    if (v.outcome != TDT_OUTCOME_IDENTIFIED && v.category)
        return td_error_set(err, -EINVAL, "--category goes with --outcome identified only");
    if (!in->verifier || !in->reviewer)
        return td_error_set(err, -EINVAL, "two-person rule: both --verifier (核查人) and "
                            "--reviewer (复核人) are required");
    v.verifier = tdt_trim(in->verifier);
    v.reviewer = tdt_trim(in->reviewer);
    v.reason = in->reason ? tdt_trim(in->reason) : NULL;
    if (!v.verifier || !v.reviewer || (in->reason && !v.reason)) {
        r = td_error_set(err, -ENOMEM, "out of memory");
        goto fail;
    }
    if (!*v.verifier || !*v.reviewer) {
        r = td_error_set(err, -EINVAL, "two-person rule: --verifier and --reviewer must not be "
                         "empty");
        goto fail;
    }
    if (strcmp(v.verifier, v.reviewer) == 0) {
        r = td_error_set(err, -EINVAL, "two-person rule: the verifier and the reviewer must be "
                         "two different people");
        goto fail;
    }
    if (tdt_has_idnum(v.verifier) || tdt_has_idnum(v.reviewer)) {
        r = td_error_set(err, -EINVAL, "--verifier/--reviewer: give a name or staff id, not an "
                         "identity number");
        goto fail;
    }
    if (v.reason && !*v.reason) {
        free(v.reason);
        v.reason = NULL;
    }
    if (v.outcome == TDT_OUTCOME_DISMISSED && !v.reason) {
        r = td_error_set(err, -EINVAL, "--outcome dismissed needs --reason (why the household "
                         "is excluded)");
        goto fail;
    }
    if (v.outcome == TDT_OUTCOME_DEPARTMENT_DATA_WRONG && !v.reason) {
        r = td_error_set(err, -EINVAL, "--outcome department-data-wrong needs --reason (what "
                         "is wrong in the department's record, as the village found it)");
        goto fail;
    }
    if (v.reason && tdt_has_idnum(v.reason)) {
        r = td_error_set(err, -EINVAL, "--reason holds what looks like an identity number: "
                         "remove it (reasons must not carry personal identifiers)");
        goto fail;
    }
    if (in->visit_date) {
        if ((r = tdt_date_arg("--visit-date", in->visit_date, &v.visit_date, err)) < 0)
            goto fail;
        if (v.visit_date > today) {
            char t[TD_AVRO_DATE_BUFSZ] = "";
            td_avro_date_format(today, t);
            r = td_error_set(err, -EINVAL, "--visit-date %s is in the future (today is %s, "
                             "China time): give the day the household was visited",
                             in->visit_date, t);
            goto fail;
        }
    } else {
        v.visit_date = today;
    }
    v.recorded_at = in->now_ms;
    if (in->outcome_id) {
        if (!tdt_printable_id(in->outcome_id, 128)) {
            r = td_error_set(err, -EINVAL, "--outcome-id: 1 to 128 printable ASCII characters");
            goto fail;
        }
        snprintf(v.outcome_id, sizeof(v.outcome_id), "%s", in->outcome_id);
    } else {
        unsigned char b[16];
        if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
            r = td_error_set(err, -EIO, "cannot get random bytes for the outcome id");
            goto fail;
        }
        b[6] = (unsigned char)((b[6] & 0x0F) | 0x40);
        b[8] = (unsigned char)((b[8] & 0x3F) | 0x80);
        snprintf(v.outcome_id, sizeof(v.outcome_id),
                 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
                 b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
                 b[13], b[14], b[15]);
    }
    *ret = v;
    return 0;
fail:
    tdt_verification_done(&v);
    return r;
}

int tdt_verification_encode(const td_avro_registry *reg, const tdt_verification *v,
                            td_avro_buf *out, td_error *err)
{
    const td_avro_schema *s = td_avro_registry_find_name(reg, "cn.tuodi.VerificationOutcome");
    char *json = NULL;
    size_t len = 0;
    FILE *f;
    avro_value_t val;
    char day[TD_AVRO_DATE_BUFSZ], ts[TD_AVRO_TIMESTAMP_BUFSZ];
    int r;

    if (!s)
        return td_error_set(err, -ENOENT, "no verification_outcome.avsc among the schemas "
                            "(schemas_dir)");
    if (td_avro_date_format(v->visit_date, day) < 0 ||
        td_avro_timestamp_millis_format(v->recorded_at, ts) < 0)
        return td_error_set(err, -ERANGE, "visit date or clock out of range");
    f = open_memstream(&json, &len);
    if (!f)
        return td_error_set(err, -ENOMEM, "out of memory");
    fputs("{\"alert_id\":", f);
    tdt_json_string(f, v->alert_id);
    fprintf(f, ",\"outcome\":\"%s\",\"category\":", tdt_outcome_symbol(v->outcome));
    if (v->category)
        fprintf(f, "{\"cn.tuodi.MonitoringCategory\":\"%s\"}", v->category);
    else
        fputs("null", f);
    fputs(",\"reason\":", f);
    if (v->reason) {
        fputs("{\"string\":", f);
        tdt_json_string(f, v->reason);
        fputc('}', f);
    } else {
        fputs("null", f);
    }
    fputs(",\"verifier\":", f);
    tdt_json_string(f, v->verifier);
    fputs(",\"reviewer\":", f);
    tdt_json_string(f, v->reviewer);
    fprintf(f, ",\"visit_date\":\"%s\",\"recorded_at\":\"%s\",\"source\":{\"department\":"
            "\"RURAL_REVITALIZATION\",\"connector_instance\":\"tuodictl\",\"record_id\":",
            day, ts);
    tdt_json_string(f, v->outcome_id);
    fputs(",\"location\":null,\"row\":null}}", f);
    if (fclose(f) != 0) {
        free(json);
        return td_error_set(err, -ENOMEM, "out of memory");
    }
    r = td_avro_schema_value_new(s, &val, err);
    if (r < 0) {
        free(json);
        return r;
    }
    r = td_avro_value_from_json(s, json, len, &val, err);
    if (r == 0)
        r = td_avro_encode(s, &val, out, err);
    avro_value_decref(&val);
    free(json);
    return r;
}

typedef struct tdt_delivery {
    bool done;
    rd_kafka_resp_err_t err;
    int32_t partition;
    int64_t offset;
} tdt_delivery;

static void tdt_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    tdt_delivery *d = m->_private;
    (void)rk;
    (void)opaque;
    if (!d)
        return;
    d->done = true;
    d->err = m->err;
    d->partition = m->partition;
    d->offset = m->offset;
}

struct tdt_verify_sink {
    const tdt_config *c;
    char *topic;
    rd_kafka_t *rk;
    tdt_kafka_diag diag;
    bool has_diag;
};

tdt_verify_sink *tdt_verify_sink_free(tdt_verify_sink *s)
{
    if (!s)
        return NULL;
    td_kafka_destroy(s->rk);
    if (s->has_diag)
        tdt_kafka_diag_done(&s->diag);
    free(s->topic);
    free(s);
    return NULL;
}

int tdt_verify_sink_open(const tdt_config *c, const char *topic, tdt_verify_sink **ret,
                         td_error *err)
{
    tdt_verify_sink *s = NULL;
    rd_kafka_conf_t *conf = NULL;
    const struct rd_kafka_metadata *md = NULL;
    bool found = false;
    char num[32], errstr[256];
    int r;

    if (!td_kafka_props_find(&c->kafka, "bootstrap.servers"))
        return td_error_set(err, -EINVAL, "no kafka: bootstrap.servers in the config: add the "
                            "broker addresses (host:port,...)");
    s = calloc(1, sizeof(*s));
    if (!s || !(s->topic = strdup(topic))) {
        tdt_verify_sink_free(s);
        return td_error_set(err, -ENOMEM, "out of memory");
    }
    s->c = c;
    tdt_kafka_diag_init(&s->diag, c->verbose);
    s->has_diag = true;
    r = td_kafka_producer_conf_new(NULL, NULL, &c->kafka, &conf, err);
    if (r < 0)
        goto fail;
    rd_kafka_conf_set_dr_msg_cb(conf, tdt_dr);
    tdt_kafka_diag_install(&s->diag, conf);
    snprintf(num, sizeof(num), "%" PRId64, c->timeout_ms);
    if (rd_kafka_conf_set(conf, "message.timeout.ms", num, errstr, sizeof(errstr)) !=
        RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        r = td_error_set(err, -EINVAL, "kafka: %s", errstr);
        goto fail;
    }
    r = td_kafka_new(RD_KAFKA_PRODUCER, conf, &s->rk, err);
    if (r < 0)
        goto fail;
    /* The topic must exist: a producer would otherwise have the broker
     * auto-create it with the broker's defaults. A topic this user may not
     * see is one it may not write (Write implies Describe): said here,
     * before anything is read or sent. */
    if (tdt_kafka_metadata(s->rk, c->timeout_ms, &md) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        r = tdt_kafka_unreachable(&s->diag, "nothing was recorded", err, "cannot reach a "
                                  "broker at %s within %" PRId64 " ms",
                                  td_kafka_props_find(&c->kafka, "bootstrap.servers")->value,
                                  c->timeout_ms);
        goto fail;
    }
    for (int i = 0; i < md->topic_cnt; i++)
        if (strcmp(md->topics[i].topic, topic) == 0 && !md->topics[i].err)
            found = true;
    rd_kafka_metadata_destroy(md);
    if (!found) {
        r = tdt_kafka_topic_missing(s->rk, c, topic, "Write",
                                    "create the topics with 'tuodictl topics create' (or "
                                    "check topics.verifications_prefix, --prefix and the "
                                    "county); nothing was recorded", err);
        if (r == -EACCES) {
            char m[sizeof(err->msg)];
            snprintf(m, sizeof(m), "%s", err->msg);
            td_error_set(err, r, "%s; nothing was recorded", m);
        }
        goto fail;
    }
    *ret = s;
    return 0;
fail:
    tdt_verify_sink_free(s);
    return r;
}

int tdt_verify_sink_send(tdt_verify_sink *s, const td_avro_registry *reg,
                         const tdt_verification *v, int32_t *ret_partition,
                         int64_t *ret_offset, td_error *err)
{
    td_avro_buf buf = TD_AVRO_BUF_INIT;
    tdt_delivery d = {false, 0, -1, -1};
    rd_kafka_resp_err_t x;
    int r;

    r = tdt_verification_encode(reg, v, &buf, err);
    if (r < 0)
        goto out;
    {
        /* rd_kafka_produceva: producev's macros are GNU statement expressions. */
        rd_kafka_vu_t vu[5];
        rd_kafka_error_t *pe;
        vu[0].vtype = RD_KAFKA_VTYPE_TOPIC;
        vu[0].u.cstr = s->topic;
        vu[1].vtype = RD_KAFKA_VTYPE_KEY;
        vu[1].u.mem.ptr = (void *)v->alert_id;
        vu[1].u.mem.size = strlen(v->alert_id);
        vu[2].vtype = RD_KAFKA_VTYPE_VALUE;
        vu[2].u.mem.ptr = buf.data;
        vu[2].u.mem.size = buf.len;
        vu[3].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
        vu[3].u.i = RD_KAFKA_MSG_F_COPY;
        vu[4].vtype = RD_KAFKA_VTYPE_OPAQUE;
        vu[4].u.ptr = &d;
        pe = rd_kafka_produceva(s->rk, vu, 5);
        x = pe ? rd_kafka_error_code(pe) : RD_KAFKA_RESP_ERR_NO_ERROR;
        if (pe)
            rd_kafka_error_destroy(pe);
    }
    if (x != RD_KAFKA_RESP_ERR_NO_ERROR) {
        r = td_error_set(err, -EIO, "kafka: cannot produce to %s: %s", s->topic,
                         rd_kafka_err2str(x));
        goto out;
    }
    rd_kafka_flush(s->rk, (int)s->c->timeout_ms + 1000);
    if (!d.done) {
        r = tdt_kafka_unreachable(&s->diag, "nothing was recorded (run the command again)", err,
                                  "no acknowledgement from the broker for %s within %" PRId64
                                  " ms", s->topic, s->c->timeout_ms);
        goto out;
    }
    if (d.err && td_kafka_err_is_refusal(d.err)) {
        char res[300];
        snprintf(res, sizeof(res), "topic %s", s->topic);
        r = td_kafka_refusal_error(s->rk, d.err, "Write", res, "nothing was recorded", err);
        goto out;
    }
    if (d.err) {
        r = td_error_set(err, -EIO, "kafka: %s: %s; nothing was recorded%s", s->topic,
                         rd_kafka_err2str(d.err),
                         d.err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
                                 d.err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART
                             ? " (create the topics with 'tuodictl topics create')"
                             : "");
        goto out;
    }
    *ret_partition = d.partition;
    *ret_offset = d.offset;
    r = 0;
out:
    td_avro_buf_done(&buf);
    return r;
}
