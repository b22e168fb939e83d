/* Fuzz target for identity numbers (lib/td_idnum.c).
 *
 * Input: the text of an identity number as a department writes it. Read as
 * it is, and (when at least 17 bytes) as the material of a number built
 * here: a province, a birth date and a sequence taken from the bytes, its
 * check character computed.
 * Properties, beyond no crash, leak or undefined behaviour:
 *   - what td_idnum_normalize accepts is 17 digits and a check character
 *     that matches, with a real birth date from 1900 up to today and a
 *     province code 11-91; normalising it again gives it back; its birth
 *     date (td_idnum_birth_date) formats to its digits 7-14; its sex is 1 or
 *     2; its pseudonym is 64 lower-case hex characters, the same twice;
 *   - what it refuses has a reason that holds none of the input's digits
 *     (no run of 3 or more digits at all: only counts such as 18);
 *   - a number built here is accepted in every spelling departments use:
 *     as is, with x for X, with full-width digits, inside ASCII and
 *     ideographic spaces; and when its year is 19xx, its legacy 15-digit
 *     form normalises to the same 18 characters.
 * corpus/idnum/ holds seeds (tests/fuzz/gen_corpus.py).
 */
#include "fuzz_common.h"
#include "td_date.h"
#include "td_idnum.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define T "fuzz_idnum"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const unsigned char key[TD_PSEUDONYM_MIN_KEY] = "0123456789abcdef0123456789abcdef";

/* 2024-06-01 */
#define TODAY 19875

static bool has_digit_run(const char *s, size_t min)
{
    size_t run = 0;

    for (; *s; s++) {
        run = (*s >= '0' && *s <= '9') ? run + 1 : 0;
        if (run >= min)
            return true;
    }
    return false;
}

/* Checks an accepted number. */
static void check_accepted(const char *id)
{
    char again[TD_IDNUM_LEN + 1], ymd[16], p1[TD_PSEUDONYM_HEX_LEN + 1],
        p2[TD_PSEUDONYM_HEX_LEN + 1];
    td_error err = {0};
    int32_t birth, min;
    int sex;

    if (strlen(id) != TD_IDNUM_LEN)
        fuzz_fail(T, "a normal form of %zu characters", strlen(id));
    for (int i = 0; i < 17; i++)
        if (id[i] < '0' || id[i] > '9')
            fuzz_fail(T, "a normal form with a non-digit at %d", i);
    if (td_idnum_check_char(id) != id[17])
        fuzz_fail(T, "a normal form whose check character is wrong");
    if ((id[0] - '0') * 10 + (id[1] - '0') < 11 || (id[0] - '0') * 10 + (id[1] - '0') > 91)
        fuzz_fail(T, "a normal form whose province is not 11-91");
    if (td_idnum_normalize(id, TD_IDNUM_LEN, TODAY, again, &err) < 0 || strcmp(again, id) != 0)
        fuzz_fail(T, "a normal form that does not normalise to itself: %s", err.msg);
    birth = td_idnum_birth_date(id);
    if (!td_date_from_ymd(1900, 1, 1, &min) || birth < min || birth > TODAY)
        fuzz_fail(T, "a birth date %d outside 1900-01-01..today", (int)birth);
    td_date_format(birth, ymd, sizeof(ymd));
    if (memcmp(ymd, id + 6, 4) != 0 || memcmp(ymd + 5, id + 10, 2) != 0 ||
        memcmp(ymd + 8, id + 12, 2) != 0)
        fuzz_fail(T, "the birth date formats to %s, not to the number's digits", ymd);
    sex = td_idnum_sex(id);
    if (sex != 1 && sex != 2)
        fuzz_fail(T, "sex %d", sex);
    if (td_idnum_pseudonymize(key, sizeof(key), id, p1) < 0 ||
        td_idnum_pseudonymize(key, sizeof(key), id, p2) < 0 || strcmp(p1, p2) != 0)
        fuzz_fail(T, "a pseudonym that fails or changes");
    if (strlen(p1) != TD_PSEUDONYM_HEX_LEN || strspn(p1, "0123456789abcdef") != TD_PSEUDONYM_HEX_LEN)
        fuzz_fail(T, "a pseudonym that is not 64 lower-case hex characters");
    if (td_idnum_pseudonymize(key, sizeof(key) - 1, id, p1) != -EINVAL)
        fuzz_fail(T, "a pseudonym from a key shorter than %d bytes", TD_PSEUDONYM_MIN_KEY);
}

static void check_text(const char *in, size_t len)
{
    char out[TD_IDNUM_LEN + 1];
    td_error err = {0};
    int rc = td_idnum_normalize(in, len, TODAY, out, &err);

    if (rc == 0) {
        check_accepted(out);
        return;
    }
    if (rc != -EINVAL || !err.msg[0])
        fuzz_fail(T, "refused with %d and reason \"%s\"", rc, err.msg);
    if (has_digit_run(err.msg, 3))
        fuzz_fail(T, "a reason with a run of digits: %s", err.msg);
    fuzz_check_no_idnum(T, "a reason", err.msg);
}

/* Must accept text (a spelling of id). */
static void must_accept(const char *what, const char *text, size_t len, const char *id)
{
    char out[TD_IDNUM_LEN + 1];
    td_error err = {0};

    if (td_idnum_normalize(text, len, TODAY, out, &err) < 0)
        fuzz_fail(T, "%s of a valid number refused: %s", what, err.msg);
    if (strcmp(out, id) != 0)
        fuzz_fail(T, "%s of a valid number normalises to another number", what);
}

static void check_built(const uint8_t *b)
{
    char id[TD_IDNUM_LEN + 1], text[128], wide[3 * TD_IDNUM_LEN + 1], legacy[16];
    int32_t min, max, day;
    int y, m, d, province = 11 + b[0] % 81;
    size_t n = 0;

    td_date_from_ymd(1900, 1, 1, &min);
    max = TODAY;
    day = min + (int32_t)(((uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]) %
                          (uint32_t)(max - min + 1));
    td_date_to_ymd(day, &y, &m, &d);
    snprintf(id, sizeof(id), "%02d%c%c%c%c%04d%02d%02d%c%c%c", province, '0' + b[4] % 10,
             '0' + b[5] % 10, '0' + b[6] % 10, '0' + b[7] % 10, y, m, d, '0' + b[8] % 10,
             '0' + b[9] % 10, '0' + b[10] % 10);
    id[17] = td_idnum_check_char(id);
    id[18] = '\0';
    must_accept("the number", id, TD_IDNUM_LEN, id);
    snprintf(text, sizeof(text), "%s", id);
    if (text[17] == 'X')
        text[17] = 'x';
    must_accept("the number with x", text, TD_IDNUM_LEN, id);
    for (int i = 0; i < TD_IDNUM_LEN; i++) {
        if (id[i] == 'X') {
            memcpy(wide + n, "\xef\xbc\xb8", 3);
        } else {
            wide[n] = '\xef';
            wide[n + 1] = '\xbc';
            wide[n + 2] = (char)(0x90 + (id[i] - '0'));
        }
        n += 3;
    }
    must_accept("the full-width number", wide, n, id);
    n = (size_t)snprintf(text, sizeof(text), " \xe3\x80\x80%s\t\xe3\x80\x80 ", id);
    must_accept("the number among spaces", text, n, id);
    if (y >= 1900 && y <= 1999) {
        memcpy(legacy, id, 6);
        memcpy(legacy + 6, id + 8, 9);
        legacy[15] = '\0';
        must_accept("the 15-digit form", legacy, 15, id);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_text((const char *)data, size);
    if (size >= 11)
        check_built(data);
    return 0;
}
