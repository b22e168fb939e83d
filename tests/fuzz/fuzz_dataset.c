/* Fuzz target for the row-to-record mapping of every dataset
 * (connectors/datasets/), fed by the CSV reader as the spooldir feeds it.
 *
 * Input: two option bytes, then a CSV file (header and rows).
 *   byte 0: the dataset (% 4: civil_affairs, medical_insurance,
 *           human_resources, roster) and its mapping (/ 4 % 3): the
 *           defaults; the custom mapping of deploy/connectors/<dataset>.yaml
 *           (other column names, codes); that mapping with pseudonymisation
 *           (a key file made at start).
 *   byte 1: the delimiter (% 4: ',', TAB, ';', '|'); the encoding is
 *           detected (UTF-8 or GB18030).
 * The rows go through tdc_dataset_map() one by one with the positions a
 * spooldir gives, then tdc_dataset_end_unit().
 * Properties, beyond no crash, leak or undefined behaviour:
 *   - rows in = rows in records + rows rejected (each row is published in
 *     exactly one record or rejected exactly once; a roster record covers
 *     its household's consecutive rows);
 *   - no reason and no column of a rejection, and no header problem, holds
 *     an identity number (fuzz_common.h: 15 or 18 digits, or one inside a
 *     longer run of digits);
 *   - every record is a valid instance of the dataset's schema (it encodes)
 *     with a non-empty key; pseudonymised, every person key (the Kafka key
 *     of a department record, members[].person_key of a household) is 64
 *     lower-case hex characters: no identity number leaves in clear;
 *   - mapping never fails on bad data (only the sink's errors or no memory);
 *     nothing stays buffered after the end of the unit.
 * corpus/dataset/ holds seeds made from the mixed fixtures of tests/data/datasets
 * (tests/fuzz/gen_corpus.py).
 */
#include "fuzz_common.h"
#include "td_date.h"
#include "tdc_csv.h"
#include "tdc_dataset.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define T "fuzz_dataset"
#define UNIT "fz.csv"
#define NKINDS 4
#define NMAPS 3

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct {
    bool ready;
    td_avro_registry *reg;
    const td_avro_schema *schema[NKINDS];
    tdc_dataset *ds[NKINDS][NMAPS];
    td_avro_buf buf;
    char key_path[64];
} fz;

/* What the sink saw during one input. */
typedef struct tally {
    tdc_dataset_kind kind;
    bool pseudonyms;
    int64_t rows_in_records;
    int64_t rejected;
} tally;

__attribute__((destructor)) static void fuzz_fini(void)
{
    if (!fz.ready)
        return;
    for (int k = 0; k < NKINDS; k++)
        for (int m = 0; m < NMAPS; m++)
            tdc_dataset_free(fz.ds[k][m]);
    td_avro_buf_done(&fz.buf);
    td_avro_registry_free(fz.reg);
    unlink(fz.key_path);
    fz.ready = false;
}

/* The body of the top-level `mapping:` of a connector's config, its lines
 * unindented by two spaces (malloc'd), or NULL. */
static char *mapping_section(const char *yaml)
{
    const char *p = strstr(yaml, "\nmapping:\n");
    char *out, *w;

    if (!p)
        return NULL;
    p += strlen("\nmapping:\n");
    out = w = malloc(strlen(p) + 1);
    if (!out)
        abort();
    while (*p && (*p == ' ' || *p == '#' || *p == '\n')) {
        const char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p) + 1 : strlen(p);
        if (n >= 2 && p[0] == ' ' && p[1] == ' ') {
            memcpy(w, p + 2, n - 2);
            w += n - 2;
        }
        p += n;
    }
    *w = '\0';
    return out;
}

static void fuzz_init(void)
{
    char path[4096];
    td_error err = {0};
    int32_t today;
    int fd;

    snprintf(path, sizeof(path), "%s/schemas", fuzz_source_root());
    if (td_avro_registry_new(&fz.reg) < 0 || td_avro_registry_load_dir(fz.reg, path, NULL, &err) < 0)
        fuzz_fail(T, "init: schemas: %s", err.msg);
    /* the pseudonym key: 32 bytes, readable by its owner only */
    snprintf(fz.key_path, sizeof(fz.key_path), "/tmp/fuzz_dataset-key-XXXXXX");
    fd = mkstemp(fz.key_path);
    if (fd < 0 || write(fd, "fuzz-pseudonym-key-0123456789abcdef", 35) != 35 || close(fd) < 0 ||
        chmod(fz.key_path, 0600) < 0)
        fuzz_fail(T, "init: the key file");
    td_date_from_ymd(2024, 6, 1, &today);
    for (int k = 0; k < NKINDS; k++) {
        struct tdc_mapping_config cfg = {0};
        char rel[256], *text, *yaml;

        fz.schema[k] = td_avro_registry_find_name(fz.reg, tdc_dataset_record_name((tdc_dataset_kind)k));
        if (!fz.schema[k])
            fuzz_fail(T, "init: no schema %s", tdc_dataset_record_name((tdc_dataset_kind)k));
        snprintf(rel, sizeof(rel), "deploy/connectors/%s.yaml", tdc_dataset_kind_names[k]);
        text = fuzz_read_source(rel, NULL);
        if (!text || !(yaml = mapping_section(text)))
            fuzz_fail(T, "init: no mapping section in %s", rel);
        if (td_config_load_string(tdc_mapping_config_table, rel, yaml, &cfg, &err) < 0)
            fuzz_fail(T, "init: %s", err.msg);
        free(yaml);
        free(text);
        for (int m = 0; m < NMAPS; m++) {
            if (m == 2) {
                free(cfg.pseudonymize.key_file);
                cfg.pseudonymize.key_file = strdup(fz.key_path);
            }
            if (tdc_dataset_new((tdc_dataset_kind)k, m ? &cfg : NULL, fz.schema[k], "fuzz",
                                &fz.ds[k][m], &err) < 0)
                fuzz_fail(T, "init: %s mapping %d: %s", tdc_dataset_kind_names[k], m, err.msg);
            tdc_dataset_set_today(fz.ds[k][m], today);
        }
        td_config_free(tdc_mapping_config_table, &cfg);
    }
    fz.ready = true;
}

static bool is_hex64(const char *s)
{
    return strlen(s) == TD_PSEUDONYM_HEX_LEN && strspn(s, "0123456789abcdef") == TD_PSEUDONYM_HEX_LEN;
}

static int on_record(void *opaque, const char *key, avro_value_t *value, const tdc_row *first,
                     const tdc_row *last)
{
    tally *t = opaque;
    td_error err = {0};

    if (!key || !*key)
        fuzz_fail(T, "a record without a key");
    if (last->row < first->row)
        fuzz_fail(T, "a record from row %lld to row %lld", (long long)first->row,
                  (long long)last->row);
    if (td_avro_encode(fz.schema[t->kind], value, &fz.buf, &err) < 0)
        fuzz_fail(T, "a record that is not an instance of its schema: %s", err.msg);
    if (t->pseudonyms) {
        if (t->kind != TDC_DATASET_ROSTER) {
            if (!is_hex64(key))
                fuzz_fail(T, "pseudonymised, a person key that is not a pseudonym");
        } else {
            avro_value_t members, m, pk;
            size_t n = 0;
            if (avro_value_get_by_name(value, "members", &members, NULL) != 0 ||
                avro_value_get_size(&members, &n) != 0)
                fuzz_fail(T, "a household without members");
            for (size_t i = 0; i < n; i++) {
                const char *s = NULL;
                size_t len;
                if (avro_value_get_by_index(&members, i, &m, NULL) != 0 ||
                    avro_value_get_by_name(&m, "person_key", &pk, NULL) != 0 ||
                    avro_value_get_string(&pk, &s, &len) != 0 || !is_hex64(s))
                    fuzz_fail(T, "pseudonymised, member %zu's person key is not a pseudonym", i);
            }
        }
    }
    t->rows_in_records += last->row - first->row + 1;
    return 0;
}

static int on_reject(void *opaque, const tdc_row *row, const char *column, const char *reason)
{
    tally *t = opaque;

    if (!row || !column || !reason || !*reason)
        fuzz_fail(T, "a rejection without a row, a column or a reason");
    fuzz_check_no_idnum(T, "a rejection's reason", reason);
    fuzz_check_no_idnum(T, "a rejection's column", column);
    t->rejected++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char delims[] = {',', '\t', ';', '|'};
    tdc_csv_options o = {0};
    tdc_csv *c = NULL;
    td_error err = {0};
    tally t = {0};
    tdc_sink sink = {on_record, on_reject, &t};
    tdc_position before = {0}, after = {0};
    const char *const *cols;
    size_t ncols = 0;
    int64_t rows_in = 0, hdr_line;
    tdc_dataset *ds;
    FILE *f;
    int rc, mapping;

    if (!fz.ready)
        fuzz_init();
    if (size < 3)
        return 0;
    t.kind = (tdc_dataset_kind)(data[0] % NKINDS);
    mapping = (data[0] / NKINDS) % NMAPS;
    t.pseudonyms = mapping == 2;
    ds = fz.ds[t.kind][mapping];
    o.delimiter = delims[data[1] % 4];
    data += 2;
    size -= 2;

    f = fmemopen((void *)data, size, "r");
    if (!f)
        abort();
    rc = tdc_csv_open_file(f, UNIT, &o, NULL, &c, &err);
    if (rc < 0) {
        fuzz_check_no_idnum(T, "the open error", err.msg);
        fclose(f);
        return 0;
    }
    cols = tdc_csv_columns(c, &ncols);
    after.kind = TDC_POSITION_SPOOLDIR;
    snprintf(after.file_name, sizeof(after.file_name), UNIT);
    after.state = TDC_FILE_IN_PROGRESS;
    after.next_byte_offset = tdc_csv_header_end(c, &hdr_line);
    after.next_row = 2;
    for (;;) {
        tdc_csv_row r;
        tdc_row row = {0};

        rc = tdc_csv_next(c, &r, &err);
        if (rc < 0)
            fuzz_fail(T, "reading failed: %s", err.msg);
        if (rc == 0)
            break;
        before = after;
        after.next_byte_offset = r.next_offset;
        after.next_row = r.row + 1;
        row.unit = UNIT;
        row.row = r.row;
        row.line = r.line;
        row.nfields = r.nfields;
        row.fields = r.fields;
        row.lens = r.lens;
        row.columns = cols;
        row.ncolumns = ncols;
        row.raw = r.raw;
        row.raw_len = r.raw_len;
        row.after = after;
        row.reject_reason = r.error != TDC_CSV_ROW_OK ? r.reason : NULL;
        rows_in++;
        rc = tdc_dataset_map(ds, &row, &before, &sink, &err);
        if (rc < 0)
            fuzz_fail(T, "mapping row %lld failed: %s", (long long)r.row, err.msg);
        fuzz_check_no_idnum(T, "the header problem", tdc_dataset_header_problem(ds));
    }
    rc = tdc_dataset_end_unit(ds, &sink, &err);
    if (rc < 0)
        fuzz_fail(T, "the end of the unit failed: %s", err.msg);
    if (tdc_dataset_safe_position(ds))
        fuzz_fail(T, "rows still buffered after the end of the unit");
    if (rows_in != t.rows_in_records + t.rejected)
        fuzz_fail(T, "%s mapping %d: %lld rows in, %lld in records, %lld rejected",
                  tdc_dataset_kind_names[t.kind], mapping, (long long)rows_in,
                  (long long)t.rows_in_records, (long long)t.rejected);
    tdc_dataset_reset(ds);
    tdc_csv_free(c);
    fclose(f);
    return 0;
}
