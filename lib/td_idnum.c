#include "td_idnum.h"

#include "td_date.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdbool.h>
#include <string.h>

char td_idnum_check_char(const char body[17])
{
    static const int weights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    static const char checks[] = "10X98765432";
    int sum = 0;

    for (int i = 0; i < 17; i++)
        sum += (body[i] - '0') * weights[i];
    return checks[sum % 11];
}

/* One character of input: ASCII digit/X/x, full-width digit (U+FF10-FF19),
 * full-width X/x (U+FF38, U+FF58). Returns its ASCII form and advances *i, or
 * 0 if it is something else. */
static char td_idnum_char(const unsigned char *s, size_t len, size_t *i)
{
    unsigned char c = s[*i];

    if ((c >= '0' && c <= '9') || c == 'X' || c == 'x') {
        (*i)++;
        return c == 'x' ? 'X' : (char)c;
    }
    if (c == 0xEF && len - *i >= 3) {
        if (s[*i + 1] == 0xBC && s[*i + 2] >= 0x90 && s[*i + 2] <= 0x99) {
            char d = (char)('0' + (s[*i + 2] - 0x90));
            *i += 3;
            return d;
        }
        if ((s[*i + 1] == 0xBC && s[*i + 2] == 0xB8) || (s[*i + 1] == 0xBD && s[*i + 2] == 0x98)) {
            *i += 3;
            return 'X';
        }
    }
    return 0;
}

static bool td_idnum_space(const unsigned char *s, size_t len, size_t i, size_t *n)
{
    if (s[i] == ' ' || s[i] == '\t') {
        *n = 1;
        return true;
    }
    if (len - i >= 3 && s[i] == 0xE3 && s[i + 1] == 0x80 && s[i + 2] == 0x80) { /* U+3000 */
        *n = 3;
        return true;
    }
    return false;
}

int td_idnum_normalize(const char *in, size_t len, int32_t today,
                       char out[TD_IDNUM_LEN + 1], td_error *err)
{
    const unsigned char *s = (const unsigned char *)in;
    char buf[TD_IDNUM_LEN + 1];
    size_t i = 0, n = 0, sp;
    int y, m, d, province;
    int32_t birth;

    while (i < len && td_idnum_space(s, len, i, &sp))
        i += sp;
    while (len > i) {
        /* trailing spaces: look at the last one or three bytes */
        if (s[len - 1] == ' ' || s[len - 1] == '\t')
            len--;
        else if (len - i >= 3 && s[len - 3] == 0xE3 && s[len - 2] == 0x80 && s[len - 1] == 0x80)
            len -= 3;
        else
            break;
    }
    if (i == len)
        return td_error_set(err, -EINVAL, "identity number is empty");
    while (i < len) {
        char c = td_idnum_char(s, len, &i);
        if (!c)
            return td_error_set(err, -EINVAL,
                                "identity number contains a character other than digits and X");
        if (n == TD_IDNUM_LEN)
            return td_error_set(err, -EINVAL, "identity number is longer than 18 characters");
        buf[n++] = c;
    }
    if (n == 15) {
        for (size_t k = 0; k < 15; k++)
            if (buf[k] == 'X')
                return td_error_set(err, -EINVAL, "15-digit identity number contains X");
        memmove(buf + 8, buf + 6, 9);
        buf[6] = '1';
        buf[7] = '9';
        buf[17] = td_idnum_check_char(buf);
        n = 18;
    } else if (n != 18) {
        return td_error_set(err, -EINVAL,
                            "identity number has %zu characters (want 18, or 15 for the legacy form)", n);
    }
    buf[18] = '\0';
    for (size_t k = 0; k < 17; k++)
        if (buf[k] == 'X')
            return td_error_set(err, -EINVAL, "identity number has X before its last character");
    province = (buf[0] - '0') * 10 + (buf[1] - '0');
    if (province < 11 || province > 91)
        return td_error_set(err, -EINVAL, "identity number's address code is not a province");
    y = (buf[6] - '0') * 1000 + (buf[7] - '0') * 100 + (buf[8] - '0') * 10 + (buf[9] - '0');
    m = (buf[10] - '0') * 10 + (buf[11] - '0');
    d = (buf[12] - '0') * 10 + (buf[13] - '0');
    if (y < 1900 || !td_date_from_ymd(y, m, d, &birth))
        return td_error_set(err, -EINVAL, "identity number's birth date is not a real date");
    if (birth > today)
        return td_error_set(err, -EINVAL, "identity number's birth date is in the future");
    if (td_idnum_check_char(buf) != buf[17])
        return td_error_set(err, -EINVAL, "identity number's check character is wrong");
    memcpy(out, buf, sizeof(buf));
    return 0;
}

int32_t td_idnum_birth_date(const char id[TD_IDNUM_LEN])
{
    int y = (id[6] - '0') * 1000 + (id[7] - '0') * 100 + (id[8] - '0') * 10 + (id[9] - '0');
    int m = (id[10] - '0') * 10 + (id[11] - '0');
    int d = (id[12] - '0') * 10 + (id[13] - '0');
    int32_t days = 0;

    td_date_from_ymd(y, m, d, &days);
    return days;
}

int td_idnum_sex(const char id[TD_IDNUM_LEN])
{
    return ((id[16] - '0') % 2) ? 1 : 2;
}

int td_idnum_pseudonymize(const unsigned char *key, size_t key_len,
                          const char id[TD_IDNUM_LEN], char out[TD_PSEUDONYM_HEX_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char mac[32];
    unsigned int mac_len = 0;

    if (!key || key_len < TD_PSEUDONYM_MIN_KEY || key_len > INT32_MAX)
        return -EINVAL;
    if (!HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)id, TD_IDNUM_LEN, mac,
              &mac_len) ||
        mac_len != sizeof(mac))
        return -EINVAL;
    for (size_t i = 0; i < sizeof(mac); i++) {
        out[2 * i] = hex[mac[i] >> 4];
        out[2 * i + 1] = hex[mac[i] & 15];
    }
    out[TD_PSEUDONYM_HEX_LEN] = '\0';
    return 0;
}
