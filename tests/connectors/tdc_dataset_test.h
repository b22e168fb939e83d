/* Shared helpers of the dataset tests: rows built from "a|b|c" lines, a
 * sink that records what it gets (every record encoded with td_avro_encode,
 * which proves it is a valid instance of its schema), reading records back
 * through td_avro_decode, and assertions on field paths.
 *
 * Everything is static inline so that each test binary takes what it uses.
 */
#ifndef TDC_DATASET_TEST_H
#define TDC_DATASET_TEST_H

#include "td_avro.h"
#include "td_config.h"
#include "td_test.h"
#include "tdc_dataset.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T_MAX_COLS 64

/* ------------------------------------------------------------ schemas */

typedef struct t_schemas {
    td_avro_registry *reg;
    const td_avro_schema *schema;
    td_avro_decoder *dec;
} t_schemas;

/* For suite init functions (no CUnit assertions there): 0 or -1. */
static inline int t_schemas_load(t_schemas *s, tdc_dataset_kind kind)
{
    char path[4096];
    td_avro_schema *sc = NULL;
    td_error err;

    memset(s, 0, sizeof(*s));
    snprintf(path, sizeof(path), "%s/schemas/%s", td_test_source_root(),
             tdc_dataset_schema_file(kind));
    if (td_avro_registry_new(&s->reg) < 0)
        return -1;
    if (td_avro_schema_load(path, &sc, &err) < 0 || td_avro_registry_add(s->reg, sc, &err) < 0) {
        fprintf(stderr, "%s\n", err.msg);
        return -1;
    }
    s->schema = td_avro_registry_find_name(s->reg, tdc_dataset_record_name(kind));
    if (!s->schema || td_avro_decoder_new(s->reg, s->schema, &s->dec, &err) < 0) {
        fprintf(stderr, "no schema or decoder: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static inline void t_schemas_done(t_schemas *s)
{
    td_avro_decoder_free(s->dec);
    td_avro_registry_free(s->reg);
    memset(s, 0, sizeof(*s));
}

/* ------------------------------------------------------------ rows */

/* A header: names split from "a|b|c"; the same array for every row of a
 * unit, as a source gives it. */
typedef struct t_header {
    char *copy;
    const char *names[T_MAX_COLS];
    size_t n;
} t_header;

static inline size_t t_split(char *s, const char **out, size_t *lens, size_t max)
{
    size_t n = 0;
    char *p = s;

    for (;;) {
        char *bar = strchr(p, '|');

        if (n == max)
            break;
        if (bar)
            *bar = '\0';
        out[n] = p;
        if (lens)
            lens[n] = strlen(p);
        n++;
        if (!bar)
            break;
        p = bar + 1;
    }
    return n;
}

static inline void t_header_init(t_header *h, const char *line)
{
    memset(h, 0, sizeof(*h));
    h->copy = strdup(line);
    h->n = t_split(h->copy, h->names, NULL, T_MAX_COLS);
}

static inline void t_header_done(t_header *h)
{
    free(h->copy);
    memset(h, 0, sizeof(*h));
}

/* One row of a unit. */
typedef struct t_row {
    tdc_row row;
    char *copy;
    char *raw;
    const char *fields[T_MAX_COLS];
    size_t lens[T_MAX_COLS];
} t_row;

#define T_MTIME_NS INT64_C(1717200000123456789)

/* Fills r from line ("v1|v2|..."), row number rownum of unit under h. The
 * position after it is a spooldir position. */
static inline void t_row_init(t_row *r, const t_header *h, const char *unit, int64_t rownum,
                              const char *line)
{
    memset(r, 0, sizeof(*r));
    r->copy = strdup(line);
    r->raw = strdup(line);
    r->row.unit = unit;
    r->row.row = rownum;
    r->row.line = rownum;
    r->row.nfields = t_split(r->copy, r->fields, r->lens, T_MAX_COLS);
    r->row.fields = r->fields;
    r->row.lens = r->lens;
    r->row.columns = h->names;
    r->row.ncolumns = h->n;
    r->row.raw = r->raw;
    r->row.raw_len = strlen(r->raw);
    r->row.after.kind = TDC_POSITION_SPOOLDIR;
    snprintf(r->row.after.file_name, sizeof(r->row.after.file_name), "%s", unit);
    r->row.after.mtime_ns = T_MTIME_NS;
    r->row.after.next_row = rownum + 1;
    r->row.after.next_byte_offset = rownum * 100;
    r->row.after.state = TDC_FILE_IN_PROGRESS;
}

static inline void t_row_done(t_row *r)
{
    free(r->copy);
    free(r->raw);
    memset(r, 0, sizeof(*r));
}

/* ------------------------------------------------------------ the sink */

typedef struct t_rec {
    char *key;
    unsigned char *bytes;
    size_t len;
    char *json;
    int64_t first_row, last_row;
} t_rec;

typedef struct t_rej {
    int64_t row;
    char *unit;
    char *column;
    char *reason;
    char *raw;
} t_rej;

typedef struct t_sink {
    const td_avro_schema *schema;
    t_rec *recs;
    size_t nrecs;
    t_rej *rejs;
    size_t nrejs;
    int64_t rows_in_records;
    td_avro_buf buf;
    int fail; /* a negative errno to return from every call, 0: succeed */
} t_sink;

static inline int t_on_record(void *opaque, const char *key, avro_value_t *value,
                              const tdc_row *first, const tdc_row *last)
{
    t_sink *s = opaque;
    t_rec *r;
    td_error err;

    if (s->fail)
        return s->fail;
    if (td_avro_encode(s->schema, value, &s->buf, &err) < 0) {
        fprintf(stderr, "\n    td_avro_encode: %s\n", err.msg);
        CU_FAIL("a record that is not a valid instance of its schema");
        return -EINVAL;
    }
    s->recs = realloc(s->recs, (s->nrecs + 1) * sizeof(*s->recs));
    r = &s->recs[s->nrecs++];
    r->key = strdup(key);
    r->bytes = malloc(s->buf.len);
    memcpy(r->bytes, s->buf.data, s->buf.len);
    r->len = s->buf.len;
    r->json = NULL;
    if (td_avro_value_to_json(s->schema, value, &s->buf, &err) == 0)
        r->json = strdup((const char *)s->buf.data);
    r->first_row = first->row;
    r->last_row = last->row;
    s->rows_in_records += last->row - first->row + 1;
    return 0;
}

static inline int t_on_reject(void *opaque, const tdc_row *row, const char *column,
                              const char *reason)
{
    t_sink *s = opaque;
    t_rej *j;

    if (s->fail)
        return s->fail;
    CU_ASSERT_PTR_NOT_NULL(column);
    CU_ASSERT_PTR_NOT_NULL(reason);
    s->rejs = realloc(s->rejs, (s->nrejs + 1) * sizeof(*s->rejs));
    j = &s->rejs[s->nrejs++];
    j->row = row->row;
    j->unit = strdup(row->unit ? row->unit : "");
    j->column = strdup(column ? column : "");
    j->reason = strdup(reason ? reason : "");
    j->raw = strndup(row->raw, row->raw_len);
    return 0;
}

static inline void t_sink_init(t_sink *s, const td_avro_schema *schema)
{
    memset(s, 0, sizeof(*s));
    s->schema = schema;
}

static inline void t_sink_clear(t_sink *s)
{
    for (size_t i = 0; i < s->nrecs; i++) {
        free(s->recs[i].key);
        free(s->recs[i].bytes);
        free(s->recs[i].json);
    }
    for (size_t i = 0; i < s->nrejs; i++) {
        free(s->rejs[i].unit);
        free(s->rejs[i].column);
        free(s->rejs[i].reason);
        free(s->rejs[i].raw);
    }
    free(s->recs);
    free(s->rejs);
    s->recs = NULL;
    s->rejs = NULL;
    s->nrecs = s->nrejs = 0;
    s->rows_in_records = 0;
}

static inline void t_sink_done(t_sink *s)
{
    t_sink_clear(s);
    td_avro_buf_done(&s->buf);
}

static inline tdc_sink t_sink_of(t_sink *s)
{
    tdc_sink k = {.record = t_on_record, .reject = t_on_reject, .opaque = s};

    return k;
}

/* ------------------------------------------------------------ reading back */

/* Decodes record i of s; the value is the decoder's (valid until the next
 * decode). */
static inline avro_value_t *t_decode(t_schemas *sc, const t_sink *s, size_t i)
{
    avro_value_t *v = NULL;
    td_error err;

    CU_ASSERT_FATAL(i < s->nrecs);
    if (td_avro_decode(sc->dec, s->recs[i].bytes, s->recs[i].len, &v, &err) < 0) {
        fprintf(stderr, "\n    decode: %s\n", err.msg);
        CU_FAIL_FATAL("decode");
    }
    return v;
}

/* The value at "a.b.c" (names; a union on the way is entered through its
 * current branch). ok = false when a name is missing or a union is null. */
static inline avro_value_t t_get(avro_value_t *root, const char *path, bool *ok)
{
    avro_value_t cur = *root, next;
    char buf[256], *save = NULL, *part;

    *ok = true;
    snprintf(buf, sizeof(buf), "%s", path);
    for (part = strtok_r(buf, ".", &save); part; part = strtok_r(NULL, ".", &save)) {
        if (avro_value_get_type(&cur) == AVRO_UNION) {
            int d = -1;

            avro_value_get_discriminant(&cur, &d);
            if (d != 1) {
                *ok = false;
                return cur;
            }
            next = cur;
            avro_value_get_current_branch(&cur, &next);
            cur = next;
        }
        if (avro_value_get_by_name(&cur, part, &next, NULL) != 0) {
            *ok = false;
            return cur;
        }
        cur = next;
    }
    return cur;
}

/* The non-null value at path: enters a final ["null", T] union, failing when
 * it holds null. */
static inline avro_value_t t_val(avro_value_t *root, const char *path)
{
    bool ok;
    avro_value_t v = t_get(root, path, &ok), b;

    if (!ok) {
        fprintf(stderr, "\n    no value at %s\n", path);
        CU_FAIL("path");
        return v;
    }
    if (avro_value_get_type(&v) == AVRO_UNION) {
        int d = -1;

        avro_value_get_discriminant(&v, &d);
        if (d != 1) {
            fprintf(stderr, "\n    %s is null (branch %d)\n", path, d);
            CU_FAIL("null");
            return v;
        }
        b = v;
        if (avro_value_get_current_branch(&v, &b) != 0)
            CU_FAIL("branch");
        return b;
    }
    return v;
}

/* Is path a ["null", T] union holding null? */
static inline bool t_is_null(avro_value_t *root, const char *path)
{
    bool ok;
    avro_value_t v = t_get(root, path, &ok);
    int d = -1;

    if (!ok || avro_value_get_type(&v) != AVRO_UNION)
        return false;
    avro_value_get_discriminant(&v, &d);
    return d == 0;
}

static inline const char *t_str(avro_value_t *root, const char *path)
{
    avro_value_t v = t_val(root, path);
    const char *s = NULL;
    size_t n;

    if (avro_value_get_type(&v) != AVRO_STRING || avro_value_get_string(&v, &s, &n) != 0)
        return "<not a string>";
    return s;
}

static inline int64_t t_long(avro_value_t *root, const char *path)
{
    avro_value_t v = t_val(root, path);
    int64_t l = INT64_MIN;
    int32_t i;

    if (avro_value_get_type(&v) == AVRO_INT64)
        avro_value_get_long(&v, &l);
    else if (avro_value_get_type(&v) == AVRO_INT32 && avro_value_get_int(&v, &i) == 0)
        l = i;
    return l;
}

static inline int t_bool(avro_value_t *root, const char *path)
{
    avro_value_t v = t_val(root, path);
    int b = -1;

    if (avro_value_get_type(&v) == AVRO_BOOLEAN)
        avro_value_get_boolean(&v, &b);
    return b;
}

/* The enum's symbol name. */
static inline const char *t_enum(avro_value_t *root, const char *path)
{
    avro_value_t v = t_val(root, path);
    avro_schema_t sc;
    int i = -1;

    if (avro_value_get_type(&v) != AVRO_ENUM || avro_value_get_enum(&v, &i) != 0)
        return "<not an enum>";
    sc = avro_value_get_schema(&v);
    return avro_schema_enum_get(sc, i);
}

/* "YYYY-MM-DD" -> days. */
static inline int64_t t_days(const char *ymd)
{
    int32_t d = 0;

    CU_ASSERT_EQUAL(td_avro_date_parse(ymd, strlen(ymd), &d, NULL), 0);
    return d;
}

/* ------------------------------------------------------------ datasets */

static inline tdc_dataset *t_dataset(tdc_dataset_kind kind, const t_schemas *sc,
                                     const struct tdc_mapping_config *cfg)
{
    tdc_dataset *ds = NULL;
    td_error err;

    if (tdc_dataset_new(kind, cfg, sc->schema, "test-instance", &ds, &err) < 0) {
        fprintf(stderr, "\n    tdc_dataset_new: %s\n", err.msg);
        CU_FAIL_FATAL("tdc_dataset_new");
    }
    tdc_dataset_set_today(ds, (int32_t)t_days("2024-06-01"));
    return ds;
}

/* Loads a mapping config from YAML text (a `mapping:` section's body). */
static inline int t_mapping_load(const char *yaml, struct tdc_mapping_config *cfg,
                                 td_error *err)
{
    memset(cfg, 0, sizeof(*cfg));
    return td_config_load_string(tdc_mapping_config_table, "conn.yaml", yaml, cfg, err);
}

static inline void t_mapping_free(struct tdc_mapping_config *cfg)
{
    td_config_free(tdc_mapping_config_table, cfg);
}

/* Maps one line of a unit, with `before` the position before it. */
static inline int t_map_line(tdc_dataset *ds, t_sink *s, const t_header *h, const char *unit,
                             int64_t rownum, const char *line)
{
    t_row r;
    tdc_position before;
    tdc_sink k = t_sink_of(s);
    td_error err;
    int rc;

    t_row_init(&r, h, unit, rownum, line);
    memset(&before, 0, sizeof(before));
    before.kind = TDC_POSITION_SPOOLDIR;
    snprintf(before.file_name, sizeof(before.file_name), "%s", unit);
    before.next_row = rownum;
    before.next_byte_offset = (rownum - 1) * 100;
    rc = tdc_dataset_map(ds, &r.row, &before, &k, &err);
    if (rc < 0)
        fprintf(stderr, "\n    map: %s\n", err.msg);
    t_row_done(&r);
    return rc;
}

static inline int t_end_unit(tdc_dataset *ds, t_sink *s)
{
    tdc_sink k = t_sink_of(s);
    td_error err;

    return tdc_dataset_end_unit(ds, &k, &err);
}

/* A dataset of kind fed the lines (data rows 2, 3, ... of one unit named
 * unit, with header hdr), then the unit's end. Each map and the end must
 * succeed. The caller frees the dataset. */
static inline tdc_dataset *t_run_unit(tdc_dataset_kind kind, const t_schemas *sc,
                                      const struct tdc_mapping_config *cfg, const char *hdr,
                                      const char *unit, const char *const *lines, size_t n,
                                      t_sink *s)
{
    tdc_dataset *ds = t_dataset(kind, sc, cfg);
    t_header h;

    t_header_init(&h, hdr);
    for (size_t i = 0; i < n; i++)
        CU_ASSERT_EQUAL(t_map_line(ds, s, &h, unit, (int64_t)i + 2, lines[i]), 0);
    CU_ASSERT_EQUAL(t_end_unit(ds, s), 0);
    t_header_done(&h);
    return ds;
}

/* Does text hold none of the digits runs of the identity numbers given
 * (NULL-terminated)? The 17 leading characters are checked, so a number in
 * any form (15 or 18, x or X) is caught. */
static inline bool t_no_id(const char *text, const char *const *ids)
{
    for (size_t i = 0; ids[i]; i++) {
        char body[18];
        char core[13];

        snprintf(body, sizeof(body), "%.17s", ids[i]);
        /* also the 12 digits after the address code (birth date + sequence) */
        snprintf(core, sizeof(core), "%.12s", ids[i] + 6);
        if (strstr(text, body) || strstr(text, core)) {
            fprintf(stderr, "\n    an identity number leaked into: %s\n", text);
            return false;
        }
    }
    return true;
}

/* line (a row the dataset publishes) mapped as deleted in the source
 * (tdc_row.deleted, postgres logical mode): no record, one rejection of the
 * row as a whole, its reason beginning "deleted in the source" and holding
 * none of ids; then the same line not deleted gives its record (at the
 * unit's end for the roster). */
static inline void t_check_delete(tdc_dataset_kind kind, const t_schemas *sc, const char *hdr,
                                  const char *unit, const char *line, const char *const *ids)
{
    tdc_dataset *ds = t_dataset(kind, sc, NULL);
    t_header h;
    t_sink s;
    t_row r;
    tdc_sink k;
    td_error err;

    t_sink_init(&s, sc->schema);
    k = t_sink_of(&s);
    t_header_init(&h, hdr);
    t_row_init(&r, &h, unit, 2, line);
    r.row.deleted = true;
    CU_ASSERT_EQUAL(tdc_dataset_map(ds, &r.row, NULL, &k, &err), 0);
    t_row_done(&r);
    CU_ASSERT_EQUAL(s.nrecs, 0);
    CU_ASSERT_EQUAL_FATAL(s.nrejs, 1);
    CU_ASSERT_STRING_EQUAL(s.rejs[0].column, "");
    CU_ASSERT_EQUAL(strncmp(s.rejs[0].reason, "deleted in the source", 21), 0);
    CU_ASSERT(t_no_id(s.rejs[0].reason, ids));
    CU_ASSERT_PTR_NULL(tdc_dataset_safe_position(ds));
    CU_ASSERT_EQUAL(t_map_line(ds, &s, &h, unit, 3, line), 0);
    CU_ASSERT_EQUAL(t_end_unit(ds, &s), 0);
    CU_ASSERT_EQUAL(s.nrecs, 1);
    CU_ASSERT_EQUAL(s.nrejs, 1);
    t_header_done(&h);
    t_sink_done(&s);
    tdc_dataset_free(ds);
}

#endif
