#include "tdc_it.h"

#include "td_avro.h"
#include "td_idnum.h"
#include "td_kafka.h"
#include "td_proc.h"
#include "td_time.h"

#include <errno.h>
#include <fcntl.h>
#include <iconv.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *tdc_it_id_column = "身份证号";
const char *tdc_it_kafka_lines;

static const char *const tdc_it_surnames[] = {"张", "王", "李", "赵", "刘", "陈", "杨", "黄"};

void tdc_it_person_id(int f, int k, char out[19])
{
    unsigned uf = (unsigned)f, uk = (unsigned)k;

    snprintf(out, 19, "3404%02u%04u%02u%02u%03u", 21 + uf % 7, 1950 + uk % 50, 1 + uk % 12,
             1 + uk % 28, uk % 1000);
    out[17] = td_idnum_check_char(out);
    out[18] = '\0';
}

int tdc_it_write_medical(const char *dir, const char *name, int file, int nrows, int bad_every,
                         bool gb18030)
{
    char path[4096], tmp[4200];
    size_t cap = (size_t)nrows * 160 + 512, len = 0;
    char *text = malloc(cap);
    int bad = 0;
    FILE *f;

    if (!text)
        return -1;
    len += (size_t)snprintf(text + len, cap - len, "%s%s%s",
                            gb18030 ? "" : "\xEF\xBB\xBF", tdc_it_id_column,
                            ",姓名,村级区划代码,结算日期,就诊类型,医疗总费用,基金支付,"
                            "个人负担,是否大病,结算单号\r\n");
    for (int k = 0; k < nrows; k++) {
        char id[19];
        tdc_it_person_id(file, k, id);
        if (bad_every > 0 && k % bad_every == bad_every - 1) {
            id[17] = id[17] == '0' ? '1' : '0'; /* a wrong check character */
            bad++;
        }
        len += (size_t)snprintf(text + len, cap - len,
                                "%s,%s%d,3404%02d100201,2023-%02d-%02d,%s,%d.50,%d.00,%d.25,%s,"
                                "F%dR%d\r\n",
                                id, tdc_it_surnames[k % 8], k, 21 + file % 7, 1 + k % 12,
                                1 + k % 28, (k & 1) ? "住院" : "门诊", 1000 + k % 5000, 500,
                                100 + k % 400, (k % 5) ? "否" : "是", file, k);
    }
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name);
    f = fopen(tmp, "wb");
    if (!f) {
        free(text);
        return -1;
    }
    if (gb18030) {
        iconv_t cd = iconv_open("GB18030", "UTF-8");
        size_t ocap = len * 2 + 16, left_in = len, left_out = ocap;
        char *out = malloc(ocap), *in = text, *o = out;
        if (cd == (iconv_t)-1 || !out || iconv(cd, &in, &left_in, &o, &left_out) == (size_t)-1) {
            fclose(f);
            free(out);
            free(text);
            return -1;
        }
        iconv_close(cd);
        fwrite(out, 1, ocap - left_out, f);
        free(out);
    } else {
        fwrite(text, 1, len, f);
    }
    free(text);
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        return -1;
    snprintf(path, sizeof(path), "%s/%s.done", dir, name);
    f = fopen(path, "w");
    if (!f)
        return -1;
    fclose(f);
    return bad;
}

int tdc_it_write_config(const char *path, const char *instance, const char *bootstrap,
                        const char *spool_dir, const char *topic_prefix, int max_records)
{
    FILE *f = fopen(path, "w");
    const char *root = getenv("TD_SOURCE_ROOT");

    if (!f)
        return -1;
    fprintf(f,
            "instance: %s\n"
            "dataset: medical_insurance\n"
            "schemas_dir: %s/schemas\n"
            "log_level: info\n"
            "kafka:\n"
            "  bootstrap.servers: \"%s\"\n"
            "  transaction.timeout.ms: 30000\n"
            "  message.timeout.ms: 30000\n"
            "  reconnect.backoff.max.ms: 1000\n"
            "%s"
            "topics:\n"
            "  records: %s.records\n"
            "  dlq: %s.dlq\n"
            "  offsets: %s.offsets\n"
            "  partitions: 3\n"
            "source:\n"
            "  spooldir:\n"
            "    input_dir: %s\n"
            "    poll_interval: 200ms\n"
            "transaction:\n"
            "  max_records: %d\n"
            "  max_interval: 500ms\n"
            "  timeout: 10s\n",
            instance, root ? root : ".", bootstrap,
            tdc_it_kafka_lines ? tdc_it_kafka_lines : "", topic_prefix, topic_prefix, topic_prefix,
            spool_dir, max_records);
    return fclose(f) == 0 ? 0 : -1;
}

const char *tdc_it_connector_bin(void)
{
    static char path[4096];
    const char *b = getenv("TD_BUILD_ROOT");

    snprintf(path, sizeof(path), "%s/connectors/tuodi-connector", b ? b : "build");
    return path;
}

pid_t tdc_it_spawn(const char *config, const char *log)
{
    return td_proc_spawn_config(tdc_it_connector_bin(), config, log);
}

int tdc_it_stop(pid_t pid, int sig, int timeout_ms)
{
    return td_proc_stop(pid, sig, timeout_ms);
}

bool tdc_it_wait_finished(const char *spool, const char *const *names, size_t n, int timeout_ms)
{
    int64_t until = td_time_mono_ms() + timeout_ms;

    while (td_time_mono_ms() < until) {
        size_t done = 0;
        for (size_t i = 0; i < n; i++) {
            char path[4096];
            struct stat st;
            snprintf(path, sizeof(path), "%s/finished/%s", spool, names[i]);
            if (stat(path, &st) == 0)
                done++;
        }
        if (done == n)
            return true;
        usleep(100000);
    }
    return false;
}

static bool tdc_it_parse_id(const char *s, size_t len, int *file, int *row)
{
    char buf[64];

    if (len >= sizeof(buf))
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    return sscanf(buf, "F%dR%d", file, row) == 2 && *file >= 0 && *file < TDC_IT_MAX_FILES &&
           *row >= 0 && *row < TDC_IT_MAX_ROWS;
}

static void tdc_it_count(tdc_it_seen *seen, int file, int row)
{
    uint8_t *c = &seen->count[(size_t)file * TDC_IT_MAX_ROWS + (size_t)row];
    if (*c < 255)
        (*c)++;
    seen->total++;
}

static void tdc_it_dead_letter(tdc_it_seen *seen, rd_kafka_message_t *m)
{
    rd_kafka_headers_t *h = NULL;
    const void *v;
    size_t vl;
    char loc[256] = "", reason[1024] = "";
    int64_t rownum = -1;
    int file, row;

    if (rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        seen->bad_headers++;
        return;
    }
    if (rd_kafka_header_get_last(h, "tuodi.location", &v, &vl) == 0 && vl < sizeof(loc))
        memcpy(loc, v, vl), loc[vl] = '\0';
    if (rd_kafka_header_get_last(h, "tuodi.row", &v, &vl) == 0 && vl < 32) {
        char num[32];
        memcpy(num, v, vl);
        num[vl] = '\0';
        rownum = atoll(num);
    }
    if (rd_kafka_header_get_last(h, "tuodi.reason", &v, &vl) == 0 && vl < sizeof(reason))
        memcpy(reason, v, vl), reason[vl] = '\0';
    if (rd_kafka_header_get_last(h, "tuodi.column", &v, &vl) != 0 || !loc[0] || rownum < 1 ||
        !reason[0]) {
        seen->bad_headers++;
        return;
    }
    if (!seen->first_reason[0])
        snprintf(seen->first_reason, sizeof(seen->first_reason), "%s: %s", loc, reason);
    /* the identity numbers of the test data start with 3404 */
    if (strstr(reason, "3404"))
        seen->id_in_reason++;
    /* the value is the row (CSV, or a JSON object from PostgreSQL); the
     * record id "F<file>R<row>" is its last field */
    if (m->payload && m->len > 0) {
        const char *p = m->payload;
        for (size_t i = m->len; i-- > 0;) {
            if (p[i] == 'F' && (i == 0 || p[i - 1] == ',' || p[i - 1] == '"')) {
                size_t e = i + 1;
                while (e < m->len && p[e] != ',' && p[e] != '"')
                    e++;
                if (tdc_it_parse_id(p + i, e - i, &file, &row) &&
                    (!strstr(loc, ".csv") || row == rownum - 2)) {
                    tdc_it_count(seen, file, row);
                    return;
                }
                break;
            }
        }
    }
    seen->unparsed++;
}

static int tdc_it_read_any(const char *bootstrap, const char *topic, bool dlq,
                           const char *record, const char *schemas_dir, tdc_it_seen *seen,
                           int *members_out);

int tdc_it_read(const char *bootstrap, const char *topic, bool dlq, const char *schemas_dir,
                tdc_it_seen *seen)
{
    return tdc_it_read_any(bootstrap, topic, dlq, "cn.tuodi.MedicalSettlement", schemas_dir, seen,
                           NULL);
}

int tdc_it_read_records(const char *bootstrap, const char *topic, const char *record,
                        const char *schemas_dir, tdc_it_seen *seen, int *members_out)
{
    return tdc_it_read_any(bootstrap, topic, false, record, schemas_dir, seen, members_out);
}

static int tdc_it_read_any(const char *bootstrap, const char *topic, bool dlq,
                           const char *record, const char *schemas_dir, tdc_it_seen *seen,
                           int *members_out)
{
    td_avro_registry *reg = NULL;
    const td_avro_schema *schema = NULL;
    td_avro_decoder *dec = NULL;
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_t *rk = NULL;
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_topic_t *rkt = NULL;
    rd_kafka_topic_partition_list_t *parts = NULL;
    td_error err = {0};
    char group[128];
    int nparts = 0, eof = 0, rc = -1;
    bool at_eof[64] = {false};
    int64_t until = td_time_mono_ms() + 60000;

    memset(seen, 0, sizeof(*seen));
    seen->count = calloc((size_t)TDC_IT_MAX_FILES * TDC_IT_MAX_ROWS, 1);
    if (!seen->count)
        return -1;
    if (!dlq) {
        if (td_avro_registry_new(&reg) < 0 || td_avro_registry_load_dir(reg, schemas_dir, NULL, &err) < 0 ||
            !(schema = td_avro_registry_find_name(reg, record)) ||
            td_avro_decoder_new(reg, schema, &dec, &err) < 0) {
            fprintf(stderr, "tdc_it_read: %s\n", err.msg);
            goto out;
        }
    }
    snprintf(group, sizeof(group), "tdc-it-reader-%d", (int)getpid());
    if (td_kafka_consumer_conf_new(bootstrap, group, NULL, &conf, &err) < 0 ||
        rd_kafka_conf_set(conf, "enable.partition.eof", "true", NULL, 0) != RD_KAFKA_CONF_OK ||
        td_kafka_new(RD_KAFKA_CONSUMER, conf, &rk, &err) < 0) {
        fprintf(stderr, "tdc_it_read: %s\n", err.msg);
        goto out;
    }
    rkt = rd_kafka_topic_new(rk, topic, NULL);
    if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) != 0 || md->topic_cnt != 1 ||
        md->topics[0].err || md->topics[0].partition_cnt > 64) {
        fprintf(stderr, "tdc_it_read: no metadata for %s\n", topic);
        goto out;
    }
    nparts = md->topics[0].partition_cnt;
    parts = rd_kafka_topic_partition_list_new(nparts);
    for (int i = 0; i < nparts; i++)
        rd_kafka_topic_partition_list_add(parts, topic, md->topics[0].partitions[i].id)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_assign(rk, parts);
    while (eof < nparts && td_time_mono_ms() < until) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 500);
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (m->partition >= 0 && m->partition < 64 && !at_eof[m->partition]) {
                at_eof[m->partition] = true;
                eof++;
            }
        } else if (!m->err) {
            if (dlq) {
                tdc_it_dead_letter(seen, m);
            } else {
                avro_value_t *v, src, rid;
                const char *s;
                size_t len;
                int file, row;
                if (td_avro_decode(dec, m->payload, m->len, &v, &err) == 0 &&
                    avro_value_get_by_name(v, "source", &src, NULL) == 0 &&
                    avro_value_get_by_name(&src, "record_id", &rid, NULL) == 0 &&
                    avro_value_get_string(&rid, &s, &len) == 0 &&
                    tdc_it_parse_id(s, len - 1, &file, &row)) {
                    avro_value_t members;
                    size_t nm;
                    tdc_it_count(seen, file, row);
                    /* the Kafka key is the record id (household id) */
                    if (record && strcmp(record, "cn.tuodi.Household") == 0 &&
                        (m->key_len != len - 1 || memcmp(m->key, s, len - 1) != 0))
                        seen->unparsed++;
                    if (members_out && file == 0 &&
                        avro_value_get_by_name(v, "members", &members, NULL) == 0 &&
                        avro_value_get_size(&members, &nm) == 0)
                        members_out[row] = (int)nm;
                } else
                    seen->unparsed++;
            }
        }
        rd_kafka_message_destroy(m);
    }
    rc = eof == nparts ? 0 : -1;
    if (rc)
        fprintf(stderr, "tdc_it_read: %s not read to its end\n", topic);
out:
    if (parts)
        rd_kafka_topic_partition_list_destroy(parts);
    if (md)
        rd_kafka_metadata_destroy(md);
    if (rkt)
        rd_kafka_topic_destroy(rkt);
    td_kafka_destroy(rk);
    td_avro_decoder_free(dec);
    td_avro_registry_free(reg);
    return rc;
}

void tdc_it_seen_free(tdc_it_seen *seen)
{
    free(seen->count);
    seen->count = NULL;
}

int tdc_it_topic_config(const char *bootstrap, const char *topic, const char *key, char *buf,
                        size_t size)
{
    td_kafka_props props = {0};
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_t *rk = NULL;
    rd_kafka_queue_t *q = NULL;
    rd_kafka_ConfigResource_t *res = NULL;
    rd_kafka_event_t *ev = NULL;
    td_error err = {0};
    int rc = -1;

    if (td_kafka_producer_conf_new(bootstrap, NULL, &props, &conf, &err) < 0 ||
        td_kafka_new(RD_KAFKA_PRODUCER, conf, &rk, &err) < 0) {
        fprintf(stderr, "topic config: %s\n", err.msg);
        return -1;
    }
    q = rd_kafka_queue_new(rk);
    res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
    rd_kafka_DescribeConfigs(rk, &res, 1, NULL, q);
    ev = rd_kafka_queue_poll(q, 30000);
    if (ev && rd_kafka_event_error(ev) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const rd_kafka_DescribeConfigs_result_t *r = rd_kafka_event_DescribeConfigs_result(ev);
        size_t nres = 0, ncfg = 0;
        const rd_kafka_ConfigResource_t **rs = rd_kafka_DescribeConfigs_result_resources(r, &nres);
        const rd_kafka_ConfigEntry_t **cs =
            nres == 1 ? rd_kafka_ConfigResource_configs(rs[0], &ncfg) : NULL;
        for (size_t i = 0; i < ncfg; i++)
            if (strcmp(rd_kafka_ConfigEntry_name(cs[i]), key) == 0 &&
                rd_kafka_ConfigEntry_value(cs[i])) {
                snprintf(buf, size, "%s", rd_kafka_ConfigEntry_value(cs[i]));
                rc = 0;
            }
    }
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_ConfigResource_destroy(res);
    rd_kafka_queue_destroy(q);
    td_kafka_destroy(rk);
    return rc;
}
