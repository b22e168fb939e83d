/* Benchmark: MedicalSettlement encode + decode per second, single thread,
 * beside a baseline measured in the same run: the same encoded bytes copied
 * with memcpy into a buffer and summed (what any consumer must at least do
 * with a message). Prints both rates and their ratio; asserts nothing about
 * time (the machine is shared and noisy).
 *
 *   bench_avro SCHEMAS_DIR [RECORDS]
 */
#include "td_avro.h"
#include "td_time.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const sample =
    "{\"person_key\": \"34052419800101001X\","
    " \"name\": {\"string\": \"张三\"},"
    " \"village_code\": {\"string\": \"340421100201\"},"
    " \"settlement_date\": \"2023-05-01\","
    " \"kind\": \"INPATIENT\","
    " \"total_cost_fen\": 1234567, \"fund_paid_fen\": 834567, \"out_of_pocket_fen\": 400000,"
    " \"major_disease\": true,"
    " \"source\": {\"department\": \"MEDICAL_INSURANCE\", \"connector_instance\": \"medical\","
    "  \"record_id\": \"JS2023050100012345\", \"location\": {\"string\": \"medical-2023-05.csv\"},"
    "  \"row\": {\"long\": 12345}}}";

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "schemas";
    long n = argc > 2 ? atol(argv[2]) : 1000000;
    td_avro_registry *reg = NULL;
    const td_avro_schema *s;
    td_avro_decoder *dec = NULL;
    td_avro_buf buf = TD_AVRO_BUF_INIT;
    avro_value_t v;
    td_error err = {0};
    unsigned char *copy;
    uint64_t sum = 0;
    int64_t t0, t1, t2;
    size_t len;

    if (td_avro_registry_new(&reg) < 0 || td_avro_registry_load_dir(reg, dir, NULL, &err) < 0) {
        fprintf(stderr, "bench_avro: %s\n", err.msg);
        return 1;
    }
    s = td_avro_registry_find_name(reg, "cn.tuodi.MedicalSettlement");
    if (!s || td_avro_schema_value_new(s, &v, &err) < 0 ||
        td_avro_value_from_json(s, sample, strlen(sample), &v, &err) < 0 ||
        td_avro_decoder_new(reg, s, &dec, &err) < 0 || td_avro_encode(s, &v, &buf, &err) < 0) {
        fprintf(stderr, "bench_avro: %s\n", err.msg);
        return 1;
    }
    len = buf.len;
    copy = malloc(len);

    /* Baseline: copy and touch the same bytes. */
    t0 = td_time_mono_us();
    for (long i = 0; i < n; i++) {
        memcpy(copy, buf.data, len);
        copy[0] ^= (unsigned char)i;
        sum += copy[(size_t)i % len];
    }
    t1 = td_time_mono_us();

    /* tuodi: encode the record and decode it back (validation included). */
    for (long i = 0; i < n; i++) {
        avro_value_t *out;
        avro_value_t f;
        int64_t oop;

        if (avro_value_get_by_name(&v, "out_of_pocket_fen", &f, NULL) == 0)
            avro_value_set_long(&f, 400000 + (i & 1023));
        if (td_avro_encode(s, &v, &buf, &err) < 0 || td_avro_decode(dec, buf.data, buf.len, &out, &err) < 0) {
            fprintf(stderr, "bench_avro: record %ld: %s\n", i, err.msg);
            return 1;
        }
        if (avro_value_get_by_name(out, "out_of_pocket_fen", &f, NULL) == 0 &&
            avro_value_get_long(&f, &oop) == 0)
            sum += (uint64_t)oop;
    }
    t2 = td_time_mono_us();

    {
        double base = (double)n * 1e6 / (double)(t1 - t0 > 0 ? t1 - t0 : 1);
        double rate = (double)n * 1e6 / (double)(t2 - t1 > 0 ? t2 - t1 : 1);
        printf("bench_avro: MedicalSettlement, %zu bytes per message, %ld records\n", len, n);
        printf("baseline memcpy:        %12.0f records/s\n", base);
        printf("tuodi encode+decode:    %12.0f records/s (%.4f of baseline) [checksum %" PRIu64 "]\n",
               rate, rate / base, sum);
        printf("target 500000 records/s: %s\n", rate >= 500000 ? "met" : "NOT met");
    }
    free(copy);
    avro_value_decref(&v);
    td_avro_buf_done(&buf);
    td_avro_decoder_free(dec);
    td_avro_registry_free(reg);
    return 0;
}
