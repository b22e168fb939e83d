/* Fuzz target for money (lib/td_money.c).
 *
 * Input: an amount in yuan as a department writes it ("1234.5",
 * "-0.05", "12,345.60", spaces around). When at least 8 bytes, the first
 * eight are also an amount in fen (brought into +-9e16).
 * Properties, beyond no crash, leak or undefined behaviour:
 *   - a parsed amount is within +-9e16 fen; it formats ("1234.50") to a text
 *     that parses back to it; refusals are -EINVAL or -ERANGE only;
 *   - every amount round-trips through td_money_format_yuan and
 *     td_money_parse_yuan, also written with thousands separators, one
 *     decimal when the last is 0, no decimals when both are, a '+' sign and
 *     spaces around.
 * corpus/money/ holds seeds (tests/fuzz/gen_corpus.py).
 */
#include "fuzz_common.h"
#include "td_money.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define T "fuzz_money"
#define MAX_FEN INT64_C(90000000000000000)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must_parse(const char *text, int64_t want)
{
    int64_t got = 0;
    int rc = td_money_parse_yuan(text, strlen(text), &got);

    if (rc < 0)
        fuzz_fail(T, "\"%s\" does not parse (%d)", text, rc);
    if (got != want)
        fuzz_fail(T, "\"%s\" parses to %" PRId64 " fen, not %" PRId64, text, got, want);
}

static void check_amount(int64_t fen)
{
    char buf[64], grouped[96], *dot;
    size_t n, k = 0, lead;
    const char *digits;

    td_money_format_yuan(fen, buf, sizeof(buf));
    must_parse(buf, fen);
    /* thousands separators */
    digits = buf[0] == '-' ? buf + 1 : buf;
    dot = strchr(buf, '.');
    n = (size_t)(dot - digits);
    if (buf[0] == '-')
        grouped[k++] = '-';
    lead = n % 3 ? n % 3 : 3;
    for (size_t i = 0; i < n; i++) {
        if (i >= lead && (i - lead) % 3 == 0)
            grouped[k++] = ',';
        grouped[k++] = digits[i];
    }
    snprintf(grouped + k, sizeof(grouped) - k, "%s", dot);
    must_parse(grouped, fen);
    /* "12.30" as "12.3", "12.00" as "12" */
    if (dot[2] == '0') {
        dot[2] = '\0';
        must_parse(buf, fen);
        if (dot[1] == '0') {
            dot[0] = '\0';
            must_parse(buf, fen);
        }
    }
    if (fen >= 0) {
        td_money_format_yuan(fen, buf, sizeof(buf));
        snprintf(grouped, sizeof(grouped), "  +%s \r", buf);
        must_parse(grouped, fen);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t fen = 0;
    int rc = td_money_parse_yuan((const char *)data, size, &fen);

    if (rc == 0) {
        if (fen > MAX_FEN || fen < -MAX_FEN)
            fuzz_fail(T, "a parsed amount %" PRId64 " beyond 9e16 fen", fen);
        check_amount(fen);
    } else if (rc != -EINVAL && rc != -ERANGE) {
        fuzz_fail(T, "td_money_parse_yuan returned %d", rc);
    }
    if (size >= 8) {
        uint64_t v = 0;
        for (int i = 0; i < 8; i++)
            v |= (uint64_t)data[i] << (8 * i);
        fen = (int64_t)(v % (uint64_t)(2 * MAX_FEN + 1)) - MAX_FEN;
        check_amount(fen);
    }
    return 0;
}
