/* The connector's position records: round trip through the current
 * ConnectorOffset schema, and a record written by an older connector (the
 * version in schemas/history, before PostgresPosition.next_row) still reads. */
#include "td_avro.h"
#include "td_test.h"
#include "tdc_offsets.h"

#include <stdio.h>
#include <string.h>

static td_avro_registry *reg;
static const td_avro_schema *cur;

static int setup(void)
{
    char dir[4096];

    snprintf(dir, sizeof(dir), "%s/schemas", td_test_source_root());
    if (td_avro_registry_new(&reg) < 0 || td_avro_registry_load_dir(reg, dir, NULL, NULL) < 0)
        return -1;
    snprintf(dir, sizeof(dir), "%s/schemas/history", td_test_source_root());
    if (td_avro_registry_load_dir(reg, dir, NULL, NULL) < 0)
        return -1;
    cur = td_avro_registry_find_name(reg, "cn.tuodi.ConnectorOffset");
    return cur ? 0 : -1;
}

static int teardown(void)
{
    td_avro_registry_free(reg);
    return 0;
}

static void round_trip(const tdc_position *in, tdc_position *out)
{
    td_avro_decoder *dec = NULL;
    td_avro_buf buf = TD_AVRO_BUF_INIT;
    avro_value_t v, *back;
    td_error err = {0};

    CU_ASSERT_EQUAL_FATAL(td_avro_schema_value_new(cur, &v, &err), 0);
    CU_ASSERT_EQUAL_FATAL(tdc_offsets_to_value(in, "medical", "src", 1764300000000, &v, &err), 0);
    CU_ASSERT_EQUAL_FATAL(td_avro_encode(cur, &v, &buf, &err), 0);
    CU_ASSERT_EQUAL_FATAL(td_avro_decoder_new(reg, cur, &dec, &err), 0);
    CU_ASSERT_EQUAL_FATAL(td_avro_decode(dec, buf.data, buf.len, &back, &err), 0);
    CU_ASSERT_EQUAL(tdc_offsets_from_value(back, out, &err), 0);
    avro_value_decref(&v);
    td_avro_decoder_free(dec);
    td_avro_buf_done(&buf);
}

static void test_spooldir_round_trip(void)
{
    tdc_position in, out;

    memset(&in, 0, sizeof(in));
    in.kind = TDC_POSITION_SPOOLDIR;
    snprintf(in.file_name, sizeof(in.file_name), "医保-2023-05.csv");
    in.device = 2049;
    in.inode = 1234567;
    in.size = 987654321;
    in.mtime_ns = 1764300000123456789;
    in.next_byte_offset = 12345;
    in.next_row = 99;
    in.state = TDC_FILE_IN_PROGRESS;
    round_trip(&in, &out);
    CU_ASSERT_EQUAL(memcmp(&in, &out, sizeof(in)), 0);

    in.state = TDC_FILE_ERROR;
    snprintf(in.error, sizeof(in.error), "file truncated while reading");
    snprintf(in.content_sha256, sizeof(in.content_sha256), "%064d", 7);
    round_trip(&in, &out);
    CU_ASSERT_EQUAL(memcmp(&in, &out, sizeof(in)), 0);
}

static void test_postgres_round_trip_keeps_next_row(void)
{
    tdc_position in, out;

    memset(&in, 0, sizeof(in));
    in.kind = TDC_POSITION_POSTGRES;
    snprintf(in.table, sizeof(in.table), "public.settlement");
    in.last_updated_at_us = 1764300000123456;
    snprintf(in.last_id, sizeof(in.last_id), "100042");
    in.next_row = 4321;
    round_trip(&in, &out);
    CU_ASSERT_EQUAL(memcmp(&in, &out, sizeof(in)), 0);
}

static void test_record_of_an_older_connector_reads(void)
{
    const td_avro_schema *old = NULL;
    td_avro_decoder *dec = NULL;
    td_avro_buf buf = TD_AVRO_BUF_INIT;
    avro_value_t v, *back;
    td_error err = {0};
    tdc_position out;
    const char *json =
        "{\"connector_instance\":\"civil\",\"source_id\":\"postgres:public.t\","
        "\"source_kind\":\"POSTGRES\",\"spooldir\":null,"
        "\"postgres\":{\"cn.tuodi.PostgresPosition\":{\"table\":\"public.t\","
        "\"last_updated_at\":1764300000123456,\"last_id\":\"77\"}},"
        "\"committed_at\":\"2025-11-28T03:20:00.000Z\"}";

    for (size_t i = 0; i < td_avro_registry_count(reg); i++) {
        const td_avro_schema *s = td_avro_registry_at(reg, i);
        if (s != cur && strcmp(td_avro_schema_fullname(s), "cn.tuodi.ConnectorOffset") == 0)
            old = s;
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(old);
    CU_ASSERT_EQUAL_FATAL(td_avro_schema_value_new(old, &v, &err), 0);
    if (td_avro_value_from_json(old, json, strlen(json), &v, &err) != 0)
        fprintf(stderr, "%s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(td_avro_encode(old, &v, &buf, &err), 0);
    /* read with the current schema, as a new connector does */
    CU_ASSERT_EQUAL_FATAL(td_avro_decoder_new(reg, cur, &dec, &err), 0);
    CU_ASSERT_EQUAL_FATAL(td_avro_decode(dec, buf.data, buf.len, &back, &err), 0);
    CU_ASSERT_PTR_EQUAL(td_avro_decoder_writer(dec), old);
    CU_ASSERT_EQUAL(tdc_offsets_from_value(back, &out, &err), 0);
    CU_ASSERT_EQUAL(out.kind, TDC_POSITION_POSTGRES);
    CU_ASSERT_STRING_EQUAL(out.table, "public.t");
    CU_ASSERT_STRING_EQUAL(out.last_id, "77");
    CU_ASSERT_EQUAL(out.last_updated_at_us, 1764300000123456);
    CU_ASSERT_EQUAL(out.next_row, 0); /* the added field's default */
    avro_value_decref(&v);
    td_avro_decoder_free(dec);
    td_avro_buf_done(&buf);
}

static void add_suites(void)
{
    td_test_suite("offsets", setup, teardown);
    TD_TEST(test_spooldir_round_trip);
    TD_TEST(test_postgres_round_trip_keeps_next_row);
    TD_TEST(test_record_of_an_older_connector_reads);
}

TD_TEST_MAIN(add_suites)
