#include "tdc_offsets.h"

#include "td_signal.h"
#include "td_time.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tdc_set_string(avro_value_t *rec, const char *field, const char *s)
{
    avro_value_t f;

    if (avro_value_get_by_name(rec, field, &f, NULL) != 0)
        return -EINVAL;
    return avro_value_set_string(&f, s) == 0 ? 0 : -EINVAL;
}

static int tdc_set_long(avro_value_t *rec, const char *field, int64_t n)
{
    avro_value_t f;

    if (avro_value_get_by_name(rec, field, &f, NULL) != 0)
        return -EINVAL;
    return avro_value_set_long(&f, n) == 0 ? 0 : -EINVAL;
}

static int tdc_set_enum(avro_value_t *rec, const char *field, const char *symbol)
{
    avro_value_t f;
    avro_schema_t es;
    int idx;

    if (avro_value_get_by_name(rec, field, &f, NULL) != 0)
        return -EINVAL;
    es = avro_value_get_schema(&f);
    idx = avro_schema_enum_get_by_name(es, symbol);
    if (idx < 0)
        return -EINVAL;
    return avro_value_set_enum(&f, idx) == 0 ? 0 : -EINVAL;
}

static int tdc_set_bool(avro_value_t *rec, const char *field, bool b)
{
    avro_value_t f;

    if (avro_value_get_by_name(rec, field, &f, NULL) != 0)
        return -EINVAL;
    return avro_value_set_boolean(&f, b) == 0 ? 0 : -EINVAL;
}

/* Sets the union field to null (branch 0) or to its record branch (1) and
 * returns that branch in *ret. */
static int tdc_set_union(avro_value_t *rec, const char *field, int branch, avro_value_t *ret)
{
    avro_value_t u, b;

    if (avro_value_get_by_name(rec, field, &u, NULL) != 0 ||
        avro_value_set_branch(&u, branch, &b) != 0)
        return -EINVAL;
    if (branch == 0)
        return avro_value_set_null(&b) == 0 ? 0 : -EINVAL;
    *ret = b;
    return 0;
}

int tdc_offsets_to_value(const tdc_position *p, const char *instance, const char *source_id,
                         int64_t committed_at_ms, avro_value_t *v, td_error *err)
{
    static const char *const states[] = {
        [TDC_FILE_IN_PROGRESS] = "IN_PROGRESS",
        [TDC_FILE_FINISHED] = "FINISHED",
        [TDC_FILE_ERROR] = "ERROR",
    };
    avro_value_t pos, opt;
    int r = 0;

    avro_value_reset(v);
    r |= tdc_set_string(v, "connector_instance", instance);
    r |= tdc_set_string(v, "source_id", source_id);
    r |= tdc_set_long(v, "committed_at", committed_at_ms);
    if (p->kind == TDC_POSITION_SPOOLDIR) {
        r |= tdc_set_enum(v, "source_kind", "SPOOLDIR");
        r |= tdc_set_union(v, "postgres", 0, NULL);
        r |= tdc_set_union(v, "spooldir", 1, &pos);
        if (r == 0) {
            r |= tdc_set_string(&pos, "file_name", p->file_name);
            r |= tdc_set_long(&pos, "device", p->device);
            r |= tdc_set_long(&pos, "inode", p->inode);
            r |= tdc_set_long(&pos, "size", p->size);
            r |= tdc_set_long(&pos, "mtime_ns", p->mtime_ns);
            r |= tdc_set_long(&pos, "next_byte_offset", p->next_byte_offset);
            r |= tdc_set_long(&pos, "next_row", p->next_row);
            r |= tdc_set_enum(&pos, "state",
                              p->state >= TDC_FILE_IN_PROGRESS && p->state <= TDC_FILE_ERROR
                                  ? states[p->state] : "IN_PROGRESS");
            if (p->content_sha256[0]) {
                r |= tdc_set_union(&pos, "content_sha256", 1, &opt);
                if (r == 0)
                    r |= avro_value_set_string(&opt, p->content_sha256) ? -EINVAL : 0;
            } else {
                r |= tdc_set_union(&pos, "content_sha256", 0, NULL);
            }
            if (p->state == TDC_FILE_ERROR && p->error[0]) {
                r |= tdc_set_union(&pos, "error", 1, &opt);
                if (r == 0)
                    r |= avro_value_set_string(&opt, p->error) ? -EINVAL : 0;
            } else {
                r |= tdc_set_union(&pos, "error", 0, NULL);
            }
        }
    } else if (p->kind == TDC_POSITION_POSTGRES) {
        r |= tdc_set_enum(v, "source_kind", "POSTGRES");
        r |= tdc_set_union(v, "spooldir", 0, NULL);
        r |= tdc_set_union(v, "postgres", 1, &pos);
        if (r == 0) {
            r |= tdc_set_string(&pos, "table", p->table);
            r |= tdc_set_long(&pos, "last_updated_at", p->last_updated_at_us);
            r |= tdc_set_string(&pos, "last_id", p->last_id);
            r |= tdc_set_long(&pos, "next_row", p->next_row);
            r |= tdc_set_enum(&pos, "mode", p->pg_mode == TDC_PG_SNAPSHOT  ? "SNAPSHOT"
                                            : p->pg_mode == TDC_PG_LOGICAL ? "LOGICAL"
                                                                           : "TIMESTAMP");
            r |= tdc_set_long(&pos, "xid_from", p->xid_from);
            r |= tdc_set_long(&pos, "xid_until", p->xid_until);
            r |= tdc_set_long(&pos, "lsn", p->lsn);
            r |= tdc_set_long(&pos, "lsn_changes", p->lsn_changes);
            r |= tdc_set_bool(&pos, "lsn_done", p->lsn_done);
        }
    } else {
        return td_error_set(err, -EINVAL, "no position to write");
    }
    if (r != 0)
        return td_error_set(err, -EINVAL, "cannot fill a ConnectorOffset record: %s",
                            avro_strerror());
    return 0;
}

static int tdc_get_long(avro_value_t *rec, const char *field, int64_t *ret)
{
    avro_value_t f;

    if (avro_value_get_by_name(rec, field, &f, NULL) != 0)
        return -EINVAL;
    return avro_value_get_long(&f, ret) == 0 ? 0 : -EINVAL;
}

static int tdc_get_string(avro_value_t *rec, const char *field, char *buf, size_t size)
{
    avro_value_t f;
    const char *s;
    size_t len;

    if (avro_value_get_by_name(rec, field, &f, NULL) != 0 ||
        avro_value_get_string(&f, &s, &len) != 0)
        return -EINVAL;
    if (len == 0 || len > size)
        return -EINVAL;
    memcpy(buf, s, len); /* len counts the NUL */
    return 0;
}

/* The union's current branch index and value. */
static int tdc_get_bool(avro_value_t *rec, const char *field, bool *ret)
{
    avro_value_t f;
    int b;

    if (avro_value_get_by_name(rec, field, &f, NULL) != 0 || avro_value_get_boolean(&f, &b) != 0)
        return -EINVAL;
    *ret = b != 0;
    return 0;
}

static int tdc_get_union(avro_value_t *rec, const char *field, int *branch, avro_value_t *ret)
{
    avro_value_t u;

    if (avro_value_get_by_name(rec, field, &u, NULL) != 0 ||
        avro_value_get_discriminant(&u, branch) != 0 ||
        avro_value_get_current_branch(&u, ret) != 0)
        return -EINVAL;
    return 0;
}

static int tdc_get_enum_name(avro_value_t *rec, const char *field, const char **ret)
{
    avro_value_t f;
    int idx;

    if (avro_value_get_by_name(rec, field, &f, NULL) != 0 || avro_value_get_enum(&f, &idx) != 0)
        return -EINVAL;
    *ret = avro_schema_enum_get(avro_value_get_schema(&f), idx);
    return *ret ? 0 : -EINVAL;
}

int tdc_offsets_from_value(avro_value_t *v, tdc_position *p, td_error *err)
{
    tdc_position out;
    avro_value_t pos, opt;
    int branch, r = 0;
    const char *sym;

    memset(&out, 0, sizeof(out));
    if (tdc_get_union(v, "spooldir", &branch, &pos) == 0 && branch == 1) {
        int64_t n;
        out.kind = TDC_POSITION_SPOOLDIR;
        r |= tdc_get_string(&pos, "file_name", out.file_name, sizeof(out.file_name));
        r |= tdc_get_long(&pos, "device", &out.device);
        r |= tdc_get_long(&pos, "inode", &out.inode);
        r |= tdc_get_long(&pos, "size", &out.size);
        r |= tdc_get_long(&pos, "mtime_ns", &out.mtime_ns);
        r |= tdc_get_long(&pos, "next_byte_offset", &out.next_byte_offset);
        r |= tdc_get_long(&pos, "next_row", &n);
        out.next_row = n;
        r |= tdc_get_enum_name(&pos, "state", &sym);
        if (r == 0) {
            if (strcmp(sym, "IN_PROGRESS") == 0)
                out.state = TDC_FILE_IN_PROGRESS;
            else if (strcmp(sym, "FINISHED") == 0)
                out.state = TDC_FILE_FINISHED;
            else if (strcmp(sym, "ERROR") == 0)
                out.state = TDC_FILE_ERROR;
            else
                r = -EINVAL;
        }
        if (r == 0 && tdc_get_union(&pos, "content_sha256", &branch, &opt) == 0 && branch == 1) {
            const char *s;
            size_t len;
            if (avro_value_get_string(&opt, &s, &len) == 0 && len <= sizeof(out.content_sha256))
                memcpy(out.content_sha256, s, len);
        }
        if (r == 0 && tdc_get_union(&pos, "error", &branch, &opt) == 0 && branch == 1) {
            const char *s;
            size_t len;
            if (avro_value_get_string(&opt, &s, &len) == 0)
                snprintf(out.error, sizeof(out.error), "%s", s);
        }
    } else if (tdc_get_union(v, "postgres", &branch, &pos) == 0 && branch == 1) {
        out.kind = TDC_POSITION_POSTGRES;
        r |= tdc_get_string(&pos, "table", out.table, sizeof(out.table));
        r |= tdc_get_long(&pos, "last_updated_at", &out.last_updated_at_us);
        r |= tdc_get_string(&pos, "last_id", out.last_id, sizeof(out.last_id));
        /* 0 when an older connector wrote it (the field's default) */
        r |= tdc_get_long(&pos, "next_row", &out.next_row);
        /* the third version's fields, at their defaults (TIMESTAMP, 0, false)
         * when an older connector wrote the record */
        const char *mode = NULL;
        r |= tdc_get_enum_name(&pos, "mode", &mode);
        if (r == 0) {
            if (strcmp(mode, "TIMESTAMP") == 0)
                out.pg_mode = TDC_PG_TIMESTAMP;
            else if (strcmp(mode, "SNAPSHOT") == 0)
                out.pg_mode = TDC_PG_SNAPSHOT;
            else if (strcmp(mode, "LOGICAL") == 0)
                out.pg_mode = TDC_PG_LOGICAL;
            else
                return td_error_set(err, -EINVAL,
                                    "ConnectorOffset record holds a postgres mode this "
                                    "connector does not know (%s): written by a newer one",
                                    mode);
        }
        r |= tdc_get_long(&pos, "xid_from", &out.xid_from);
        r |= tdc_get_long(&pos, "xid_until", &out.xid_until);
        r |= tdc_get_long(&pos, "lsn", &out.lsn);
        r |= tdc_get_long(&pos, "lsn_changes", &out.lsn_changes);
        r |= tdc_get_bool(&pos, "lsn_done", &out.lsn_done);
    } else {
        return td_error_set(err, -EINVAL, "ConnectorOffset record holds no position");
    }
    if (r != 0)
        return td_error_set(err, -EINVAL, "ConnectorOffset record is incomplete");
    *p = out;
    return 0;
}

/* A refused Describe or Read of topic: the one-line refusal (remembered for
 * td_kafka_refused()), or with TDC_OFFSETS_QUIET a plain -EACCES. */
static int tdc_offsets_refused(const rd_kafka_t *rk, rd_kafka_resp_err_t code,
                               const char *operation, const char *topic, unsigned flags,
                               td_error *err)
{
    char resource[300];

    if (flags & TDC_OFFSETS_QUIET)
        return td_error_set(err, -EACCES, "offsets topic %s: %s", topic, rd_kafka_err2name(code));
    snprintf(resource, sizeof(resource), "topic %s", topic);
    return td_kafka_refusal_error(rk, code, operation, resource, NULL, err);
}

int tdc_offsets_read(const td_kafka_props *props, const char *topic, const char *key,
                     td_avro_decoder *dec, int timeout_ms, unsigned flags, tdc_position *ret,
                     td_error *err)
{
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_t *rk = NULL;
    const rd_kafka_metadata_t *md = NULL;
    rd_kafka_topic_partition_list_t *parts = NULL;
    rd_kafka_resp_err_t x;
    tdc_position found;
    size_t keylen = strlen(key), eof = 0, nparts = 0;
    bool *at_eof = NULL;
    int64_t deadline = td_time_mono_ms() + timeout_ms;
    char group[300];
    int r, have = 0;

    snprintf(group, sizeof(group), "tuodi-offsets-reader.%s", key);
    r = td_kafka_consumer_conf_new(NULL, group, props, &conf, err);
    if (r < 0)
        return r;
    /* The user's kafka: settings are the producer's too; for this short
     * reader librdkafka would warn about every producer-only one (CONFWARN,
     * a warning), so only its errors are logged. */
    if (rd_kafka_conf_set(conf, "enable.partition.eof", "true", NULL, 0) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "log_level", "3", NULL, 0) != RD_KAFKA_CONF_OK) {
        rd_kafka_conf_destroy(conf);
        return td_error_set(err, -EINVAL, "cannot set enable.partition.eof");
    }
    r = td_kafka_new(RD_KAFKA_CONSUMER, conf, &rk, err);
    if (r < 0)
        return r;

    x = td_kafka_topic_metadata(rk, topic, timeout_ms, &md);
    if (x == RD_KAFKA_RESP_ERR__INTR) {
        r = td_error_set(err, -EINTR, "offsets topic %s: a stop was requested", topic);
        goto out;
    }
    if (x != RD_KAFKA_RESP_ERR_NO_ERROR || md->topic_cnt != 1) {
        r = td_error_set(err, -ETIMEDOUT, "offsets topic %s: no metadata within %d ms", topic,
                         timeout_ms);
        goto out;
    }
    if (td_kafka_err_is_refusal(md->topics[0].err)) {
        r = tdc_offsets_refused(rk, md->topics[0].err, "Describe", topic, flags, err);
        goto out;
    }
    if (md->topics[0].err) {
        r = td_error_set(err, md->topics[0].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ? -ENOENT : -EIO,
                         "offsets topic %s: %s", topic, rd_kafka_err2str(md->topics[0].err));
        goto out;
    }
    nparts = (size_t)md->topics[0].partition_cnt;
    at_eof = calloc(nparts ? nparts : 1, sizeof(*at_eof));
    if (!at_eof) {
        r = td_error_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    parts = rd_kafka_topic_partition_list_new((int)nparts);
    for (size_t i = 0; i < nparts; i++)
        rd_kafka_topic_partition_list_add(parts, topic, md->topics[0].partitions[i].id)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    if (rd_kafka_assign(rk, parts) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        r = td_error_set(err, -EIO, "offsets topic %s: cannot assign partitions", topic);
        goto out;
    }

    while (eof < nparts) {
        rd_kafka_message_t *m;
        int64_t left = deadline - td_time_mono_ms();

        if (left <= 0) {
            r = td_error_set(err, -ETIMEDOUT, "offsets topic %s: not read to its end within %d ms",
                             topic, timeout_ms);
            goto out;
        }
        if (td_signal_stop_requested()) {
            r = td_error_set(err, -EINTR, "offsets topic %s: a stop was requested", topic);
            goto out;
        }
        m = rd_kafka_consumer_poll(rk, left > 500 ? 500 : (int)left);
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            for (size_t i = 0; i < nparts; i++) {
                if (md->topics[0].partitions[i].id == m->partition && !at_eof[i]) {
                    at_eof[i] = true;
                    eof++;
                }
            }
        } else if (td_kafka_err_is_refusal(m->err)) {
            r = tdc_offsets_refused(rk, m->err, "Read", topic, flags, err);
            rd_kafka_message_destroy(m);
            goto out;
        } else if (m->err) {
            td_error_set(err, -EIO, "offsets topic %s [%d]: %s", topic, (int)m->partition,
                         rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            r = -EIO;
            goto out;
        } else if (m->key_len == keylen && memcmp(m->key, key, keylen) == 0) {
            if (!m->payload) {
                have = 0; /* a tombstone: the position was deleted */
            } else if (!dec) {
                have = 1; /* only whether there is one */
            } else {
                avro_value_t *v;
                td_error inner = {0};
                r = td_avro_decode(dec, m->payload, m->len, &v, &inner);
                if (r == 0)
                    r = tdc_offsets_from_value(v, &found, &inner);
                if (r < 0) {
                    td_error_set(err, r, "offsets topic %s [%d] offset %lld: %s", topic,
                                 (int)m->partition, (long long)m->offset, inner.msg);
                    rd_kafka_message_destroy(m);
                    goto out;
                }
                have = 1;
            }
        }
        rd_kafka_message_destroy(m);
    }
    r = have;
    if (have && dec && ret)
        *ret = found;
out:
    free(at_eof);
    if (parts)
        rd_kafka_topic_partition_list_destroy(parts);
    if (md)
        rd_kafka_metadata_destroy(md);
    td_kafka_destroy(rk);
    return r;
}
