/* Fuzz target for the batch manifest (daemon/tdm_manifest.c): the metadata
 * of a consumer group's committed offset, which any client of the group
 * may have written.
 *
 * Input: the metadata bytes as committed.
 * Properties, beyond no crash, leak or undefined behaviour:
 *   - a refusal is -EPROTO (not a manifest) or -EINVAL (a malformed one)
 *     with a reason naming the batch manifest, and leaves the manifest
 *     empty;
 *   - an accepted text is at most 4096 bytes, its length is counted
 *     exactly, and it encodes back to the same bytes;
 *   - its runs ascend without overlap, their counts add up to its records,
 *     and a plan over it either places every record or is refused.
 * corpus/manifest/ holds seeds (tests/fuzz/gen_corpus.py).
 */
#include "fuzz_common.h"
#include "tdm_manifest.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define T "fuzz_manifest"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tdm_manifest m = {0};
    const tdm_manifest *v[1] = {&m};
    td_error err = {0};
    char buf[TDM_MANIFEST_MAX];
    uint32_t *order = NULL;
    uint64_t sum = 0;
    size_t total = 0;
    int r = tdm_manifest_decode(data, size, &m, &err);

    if (r < 0) {
        if (r != -EPROTO && r != -EINVAL)
            fuzz_fail(T, "tdm_manifest_decode returned %d", r);
        if (!strstr(err.msg, "manifest"))
            fuzz_fail(T, "a refusal without a reason: \"%s\"", err.msg);
        if (m.nruns || m.records)
            fuzz_fail(T, "a refused manifest is not empty");
        tdm_manifest_done(&m);
        return 0;
    }
    if (size > TDM_MANIFEST_MAX || m.len != size)
        fuzz_fail(T, "%zu bytes accepted, counted as %zu", size, m.len);
    if (tdm_manifest_encode(&m, buf, sizeof(buf)) != (int)size || memcmp(buf, data, size) != 0)
        fuzz_fail(T, "an accepted manifest does not encode back to its bytes");
    for (size_t i = 0; i < m.nruns; i++) {
        if (m.runs[i].count == 0 ||
            (i && (uint64_t)m.runs[i - 1].pos + m.runs[i - 1].count > m.runs[i].pos))
            fuzz_fail(T, "run %zu is empty, overlaps or goes back", i);
        sum += m.runs[i].count;
    }
    if (sum != m.records)
        fuzz_fail(T, "runs of %llu records, counted %llu", (unsigned long long)sum,
                  (unsigned long long)m.records);
    if (m.records <= 1000000) {
        r = tdm_manifest_plan(v, 1, &order, &total, &err);
        if (r == 0) {
            if (total != m.records)
                fuzz_fail(T, "a plan of %zu positions for %llu records", total,
                          (unsigned long long)m.records);
            for (size_t k = 0; k < total; k++)
                if (order[k] != 0)
                    fuzz_fail(T, "position %zu not placed", k);
        } else if (r != -EINVAL) {
            fuzz_fail(T, "tdm_manifest_plan returned %d", r);
        }
        free(order);
    }
    tdm_manifest_done(&m);
    return 0;
}
