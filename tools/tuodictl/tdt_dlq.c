/* tdt_dlq: dead letters as the connectors and tuodi-matchd write them
 * (docs/connector.md, "Dead letters"): read from their headers, selected,
 * listed without the row, and the rows written back out as a CSV file. */
#include "tdt.h"

#include "td_log.h"

#include <errno.h>
#include <iconv.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- the datasets and their topics ---- */

static const struct {
    const char *name;
    size_t off; /* in tdt_topic_names */
} tdt_dlq_topics[] = {
    {"roster", offsetof(tdt_topic_names, dlq_roster)},
    {"medical_insurance", offsetof(tdt_topic_names, dlq_medical_insurance)},
    {"civil_affairs", offsetof(tdt_topic_names, dlq_civil_affairs)},
    {"human_resources", offsetof(tdt_topic_names, dlq_human_resources)},
    {"verifications", offsetof(tdt_topic_names, dlq_verifications)},
};
#define TDT_NDLQ (sizeof(tdt_dlq_topics) / sizeof(tdt_dlq_topics[0]))

const char *const tdt_dlq_datasets[TDT_NDLQ + 1] = {
    "roster", "medical_insurance", "civil_affairs", "human_resources", "verifications", NULL,
};

const char *tdt_dlq_topic(const tdt_config *c, const char *dataset)
{
    for (size_t i = 0; i < TDT_NDLQ; i++)
        if (strcmp(tdt_dlq_topics[i].name, dataset) == 0) {
            /* the member at offsetof(): memcpy, not a cast clang's
             * -Wcast-align refuses */
            const char *v;
            memcpy(&v, (const char *)&c->topics + tdt_dlq_topics[i].off, sizeof(v));
            return v;
        }
    return NULL;
}

/* ---- reading one ---- */

/* The last value of header name as a new string (*ret NULL when absent).
 * -ENOMEM. */
static int tdt_hdr_str(const rd_kafka_headers_t *h, const char *name, char **ret)
{
    const void *v = NULL;
    size_t n = 0;
    *ret = NULL;
    if (!h || rd_kafka_header_get_last(h, name, &v, &n) != RD_KAFKA_RESP_ERR_NO_ERROR)
        return 0;
    *ret = malloc(n + 1);
    if (!*ret)
        return -ENOMEM;
    if (n)
        memcpy(*ret, v, n);
    (*ret)[n] = '\0';
    return 0;
}

/* A header's decimal number, -1 when absent or not one. */
static int64_t tdt_hdr_num(const rd_kafka_headers_t *h, const char *name)
{
    const void *v = NULL;
    size_t n = 0;
    char buf[32], *end;
    long long x;
    if (!h || rd_kafka_header_get_last(h, name, &v, &n) != RD_KAFKA_RESP_ERR_NO_ERROR || !v ||
        n == 0 || n >= sizeof(buf))
        return -1;
    memcpy(buf, v, n);
    buf[n] = '\0';
    errno = 0;
    x = strtoll(buf, &end, 10);
    if (*end || errno || x < 0)
        return -1;
    return (int64_t)x;
}

int tdt_dead_letter_parse(const rd_kafka_headers_t *h, const void *value, size_t value_len,
                          tdt_dead_letter *ret)
{
    char *matchd = NULL, *trunc = NULL;
    int64_t p;
    int r = 0;

    memset(ret, 0, sizeof(*ret));
    r |= tdt_hdr_str(h, "tuodi.matchd", &matchd);
    if (matchd) {
        ret->matchd = true;
        ret->instance = matchd;
    } else {
        r |= tdt_hdr_str(h, "tuodi.connector", &ret->instance);
    }
    r |= tdt_hdr_str(h, "tuodi.dataset", &ret->dataset);
    r |= tdt_hdr_str(h, "tuodi.location", &ret->location);
    r |= tdt_hdr_str(h, "tuodi.column", &ret->column);
    r |= tdt_hdr_str(h, "tuodi.reason", &ret->reason);
    r |= tdt_hdr_str(h, "tuodi.stage", &ret->stage);
    r |= tdt_hdr_str(h, "tuodi.record_id", &ret->record_id);
    r |= tdt_hdr_str(h, "tuodi.topic", &ret->topic);
    r |= tdt_hdr_str(h, "tuodi.truncated", &trunc);
    ret->truncated = trunc && strcmp(trunc, "true") == 0;
    free(trunc);
    ret->row = tdt_hdr_num(h, "tuodi.row");
    ret->line = tdt_hdr_num(h, "tuodi.line");
    p = tdt_hdr_num(h, "tuodi.partition");
    ret->partition = p >= 0 && p <= INT32_MAX ? (int32_t)p : -1;
    ret->offset = tdt_hdr_num(h, "tuodi.offset");
    ret->source_bytes = tdt_hdr_num(h, "tuodi.source_bytes");
    if (value) {
        ret->value = malloc(value_len + 1);
        if (!ret->value) {
            r = -ENOMEM;
        } else {
            memcpy(ret->value, value, value_len);
            ret->value[value_len] = '\0';
            ret->value_len = value_len;
        }
    }
    if (r != 0) {
        tdt_dead_letter_done(ret);
        return -ENOMEM;
    }
    return 0;
}

void tdt_dead_letter_done(tdt_dead_letter *d)
{
    if (!d)
        return;
    free(d->instance);
    free(d->dataset);
    free(d->location);
    free(d->column);
    free(d->reason);
    free(d->stage);
    free(d->record_id);
    free(d->topic);
    free(d->value);
    memset(d, 0, sizeof(*d));
}

bool tdt_dlq_match(const tdt_dead_letter *d, const tdt_dlq_filter *f)
{
    if (f->connector && (d->matchd || !d->instance || strcmp(d->instance, f->connector) != 0))
        return false;
    if (f->location && (d->matchd || !d->location || strcmp(d->location, f->location) != 0))
        return false;
    return d->timestamp >= f->since_ms;
}

static int tdt_dlq_cmp(const void *a, const void *b)
{
    const tdt_dead_letter *x = a, *y = b;
    if (x->timestamp != y->timestamp)
        return x->timestamp < y->timestamp ? -1 : 1;
    if (x->dlq_partition != y->dlq_partition)
        return x->dlq_partition < y->dlq_partition ? -1 : 1;
    return x->dlq_offset < y->dlq_offset ? -1 : x->dlq_offset > y->dlq_offset;
}

void tdt_dlq_sort(tdt_dead_letter *v, size_t n)
{
    if (n > 1)
        qsort(v, n, sizeof(*v), tdt_dlq_cmp);
}

/* ---- listing ---- */

const tdt_column tdt_dlq_cols_table[] = {
    {"time", "时间", false},     {"source", "来源", false},  {"location", "位置", false},
    {"row", "行", false},        {"column", "列", false},    {"stage", "阶段", false},
    {"reason", "原因", false},   {"bytes", "字节", false},   {"truncated", "截断", false},
};
const size_t tdt_dlq_ncols_table = sizeof(tdt_dlq_cols_table) / sizeof(tdt_dlq_cols_table[0]);

const tdt_column tdt_dlq_cols_machine[] = {
    {"timestamp", "", false},    {"writer", "", false},       {"instance", "", false},
    {"dataset", "", false},      {"location", "", false},     {"row", "", true},
    {"line", "", true},          {"topic", "", false},        {"partition", "", true},
    {"offset", "", true},        {"column", "", false},       {"stage", "", false},
    {"reason", "", false},       {"record_id", "", false},    {"source_bytes", "", true},
    {"truncated", "", false},    {"dlq_partition", "", true}, {"dlq_offset", "", true},
};
const size_t tdt_dlq_ncols_machine =
    sizeof(tdt_dlq_cols_machine) / sizeof(tdt_dlq_cols_machine[0]);

void tdt_dlq_table_init(tdt_table *t, tdt_format fmt)
{
    if (fmt == TDT_FMT_TABLE)
        tdt_table_init(t, tdt_dlq_cols_table, tdt_dlq_ncols_table);
    else
        tdt_table_init(t, tdt_dlq_cols_machine, tdt_dlq_ncols_machine);
}

/* A masked copy of s ("" for NULL). */
static char *tdt_masked(const char *s)
{
    char *m = strdup(s ? s : "");
    if (m)
        td_log_redact(m);
    return m;
}

/* "YYYY-MM-DD HH:MM:SS" in China Standard Time (UTC+8). */
static void tdt_time_cst(int64_t ms, char out[32])
{
    time_t t = (time_t)((ms - (((ms % 1000) + 1000) % 1000)) / 1000 + 8 * 3600);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(out, 32, "%Y-%m-%d %H:%M:%S", &tm) == 0)
        snprintf(out, 32, "%" PRId64, ms);
}

static void tdt_num(char out[24], int64_t v)
{
    if (v < 0)
        out[0] = '\0';
    else
        snprintf(out, 24, "%" PRId64, v);
}

int tdt_dead_letter_row(tdt_table *t, const tdt_dead_letter *d, tdt_format fmt)
{
    char *m[8] = {NULL};
    char ts[32], row[24], line[24], part[24], off[24], bytes[24], dpart[24], doff[24];
    char where[320], rowcell[64];
    int r = -ENOMEM;
    enum { INST, DS, LOC, COL, REASON, STAGE, RID, TOPIC };

    m[INST] = tdt_masked(d->instance);
    m[DS] = tdt_masked(d->dataset);
    m[LOC] = tdt_masked(d->location);
    m[COL] = tdt_masked(d->column);
    m[REASON] = tdt_masked(d->reason);
    m[STAGE] = tdt_masked(d->stage);
    m[RID] = tdt_masked(d->record_id);
    m[TOPIC] = tdt_masked(d->topic);
    for (size_t i = 0; i < 8; i++)
        if (!m[i])
            goto out;
    tdt_num(row, d->row);
    tdt_num(line, d->line);
    tdt_num(part, d->partition);
    tdt_num(off, d->offset);
    tdt_num(bytes, d->source_bytes);
    tdt_num(dpart, d->dlq_partition);
    tdt_num(doff, d->dlq_offset);
    if (fmt != TDT_FMT_TABLE) {
        char iso[TD_AVRO_TIMESTAMP_BUFSZ] = "";
        td_avro_timestamp_millis_format(d->timestamp, iso);
        const char *cells[] = {iso, d->matchd ? "matchd" : "connector", m[INST], m[DS], m[LOC],
                               row, line, m[TOPIC], part, off, m[COL], m[STAGE], m[REASON],
                               m[RID], bytes, d->truncated ? "true" : "false", dpart, doff};
        r = tdt_table_add(t, cells);
        goto out;
    }
    tdt_time_cst(d->timestamp, ts);
    if (d->matchd) {
        snprintf(where, sizeof(where), "%s", *m[TOPIC] ? m[TOPIC] : "-");
        snprintf(rowcell, sizeof(rowcell), "[%s] @%s", *part ? part : "?", *off ? off : "?");
    } else {
        snprintf(where, sizeof(where), "%s", *m[LOC] ? m[LOC] : "-");
        if (*m[RID]) /* a row of a table (postgres): its id says which */
            snprintf(rowcell, sizeof(rowcell), "id %.56s", m[RID]);
        else if (*row && *line && strcmp(row, line) != 0)
            snprintf(rowcell, sizeof(rowcell), "%s (line %s)", row, line);
        else
            snprintf(rowcell, sizeof(rowcell), "%s", *row ? row : "-");
    }
    {
        char who[300];
        snprintf(who, sizeof(who), "%s%s", d->matchd ? "matchd " : "",
                 *m[INST] ? m[INST] : "?");
        const char *cells[] = {ts,          who,
                               where,       rowcell,
                               *m[COL] ? m[COL] : "-", *m[STAGE] ? m[STAGE] : "-",
                               *m[REASON] ? m[REASON] : "-", *bytes ? bytes : "-",
                               d->truncated ? "是" : ""};
        r = tdt_table_add(t, cells);
    }
out:
    for (size_t i = 0; i < 8; i++)
        free(m[i]);
    return r;
}

/* The distinct locations of connector dead letters, in order of first
 * appearance, with their counts: linear in n times the locations (a few
 * files, not one per row). */
typedef struct tdt_loc_count {
    const char *location; /* borrowed; "" for none */
    size_t n;
} tdt_loc_count;

static int tdt_loc_add(tdt_loc_count **v, size_t *n, size_t *cap, const char *location)
{
    const char *l = location ? location : "";
    for (size_t i = *n; i > 0; i--) /* the last one first: rows come by file */
        if (strcmp((*v)[i - 1].location, l) == 0) {
            (*v)[i - 1].n++;
            return 0;
        }
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        tdt_loc_count *nv = realloc(*v, nc * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        *v = nv;
        *cap = nc;
    }
    (*v)[(*n)++] = (tdt_loc_count){l, 1};
    return 0;
}

#define TDT_SUMMARY_LOCATIONS 10

void tdt_dlq_summary(const tdt_dead_letter *v, size_t n, FILE *f)
{
    tdt_loc_count *locs = NULL;
    size_t nlocs = 0, cap = 0, nmatchd = 0, len = 0;
    char *buf = NULL;
    FILE *m;

    for (size_t i = 0; i < n; i++) {
        if (v[i].matchd)
            nmatchd++;
        else if (tdt_loc_add(&locs, &nlocs, &cap, v[i].location) < 0)
            nlocs = 0; /* out of memory: the total only */
    }
    m = open_memstream(&buf, &len);
    if (m) {
        fprintf(m, "%zu dead letter%s", n, n == 1 ? "" : "s");
        size_t rest = 0;
        for (size_t i = 0; i < nlocs; i++) {
            if (i >= TDT_SUMMARY_LOCATIONS) {
                rest += locs[i].n;
                continue;
            }
            fprintf(m, "%s%s %zu", i == 0 ? ": " : ", ",
                    *locs[i].location ? locs[i].location : "(no location)", locs[i].n);
        }
        if (nlocs > TDT_SUMMARY_LOCATIONS)
            fprintf(m, ", %zu more files %zu", nlocs - TDT_SUMMARY_LOCATIONS, rest);
        if (nmatchd)
            fprintf(m, "%stuodi-matchd %zu", nlocs == 0 ? ": " : ", ", nmatchd);
        fclose(m);
    }
    if (buf) {
        td_log_redact(buf);
        fprintf(f, "%s\n", buf);
    }
    free(buf);
    free(locs);
}

/* ---- the rows back out ---- */

int tdt_dlq_write_rows(const tdt_dead_letter *v, size_t n, const char *header_line, FILE *f,
                       tdt_dlq_rows_stats *ret)
{
    tdt_dlq_rows_stats s;
    tdt_loc_count *locs = NULL;
    size_t cap = 0;
    memset(&s, 0, sizeof(s));
    fputs("\xEF\xBB\xBF", f);
    if (header_line) {
        fputs(header_line, f);
        fputs("\r\n", f);
    }
    for (size_t i = 0; i < n; i++) {
        const tdt_dead_letter *d = &v[i];
        if (d->matchd) {
            s.matchd++;
            continue;
        }
        if (d->record_id) {
            s.table++;
            continue;
        }
        if (d->truncated) {
            s.truncated++;
            continue;
        }
        if (!d->value) {
            s.no_value++;
            continue;
        }
        fwrite(d->value, 1, d->value_len, f);
        fputs("\r\n", f);
        s.written++;
        if (tdt_loc_add(&locs, &s.locations, &cap, d->location) < 0) {
            free(locs);
            return -ENOMEM;
        }
    }
    free(locs);
    if (fflush(f) != 0 || ferror(f))
        return -(errno ? errno : EIO);
    *ret = s;
    return 0;
}

/* Whether s[0..n) is valid UTF-8 (shortest forms, no surrogates). */
static bool tdt_utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t k;
        unsigned cp;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            k = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            k = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            k = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + k >= n)
            return false;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + j] & 0x3F);
        }
        if ((k == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (k == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
            return false;
        i += k + 1;
    }
    return true;
}

#define TDT_HEADER_MAX (64 * 1024)

int tdt_dlq_read_header(const char *path, char **ret, td_error *err)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL, *out = NULL;
    size_t n = 0, start = 0;
    int c, r;

    if (!f)
        return td_error_set(err, -errno, "%s: %s", path, strerror(errno));
    buf = malloc(TDT_HEADER_MAX + 1);
    if (!buf) {
        fclose(f);
        return td_error_set(err, -ENOMEM, "out of memory");
    }
    while (n < TDT_HEADER_MAX && (c = fgetc(f)) != EOF && c != '\n')
        buf[n++] = (char)c;
    fclose(f);
    if (n >= TDT_HEADER_MAX) {
        r = td_error_set(err, -EINVAL, "%s: no line end in the first %d KiB: not a department's "
                         "CSV file", path, TDT_HEADER_MAX / 1024);
        goto out;
    }
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    if (n >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
        start = 3;
    else if (n >= 4 && memcmp(buf, "\x84\x31\x95\x33", 4) == 0)
        start = 4; /* the GB18030 BOM: the text is GB18030 */
    if (n == start) {
        r = td_error_set(err, -EINVAL, "%s: the first line is empty: not a department's CSV "
                         "file with its header", path);
        goto out;
    }
    if (start != 4 && tdt_utf8_valid((const unsigned char *)buf + start, n - start)) {
        out = strdup(buf + start);
    } else {
        iconv_t cd = iconv_open("UTF-8", "GB18030");
        size_t ocap = (n - start) * 2 + 1, left_in = n - start, left_out = ocap - 1;
        char *in = buf + start, *o;
        out = malloc(ocap);
        o = out;
        if (cd == (iconv_t)-1 || !out || iconv(cd, &in, &left_in, &o, &left_out) == (size_t)-1) {
            if (cd != (iconv_t)-1)
                iconv_close(cd);
            r = td_error_set(err, -EINVAL, "%s: the first line is neither UTF-8 nor GB18030",
                             path);
            goto out;
        }
        iconv_close(cd);
        *o = '\0';
    }
    if (!out) {
        r = td_error_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    *ret = out;
    out = NULL;
    r = 0;
out:
    free(out);
    free(buf);
    return r;
}
