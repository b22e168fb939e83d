/* td_idnum: PRC resident identity numbers (GB 11643-1999) and person keys.
 *
 * An identity number is personal information: no function here puts one (or
 * any part of one, birth date included) into an error text, and callers must
 * not log them (td_log masks them anyway).
 */
#ifndef TD_IDNUM_H
#define TD_IDNUM_H

#include "td_error.h"

#include <stddef.h>
#include <stdint.h>

#define TD_IDNUM_LEN 18
#define TD_PSEUDONYM_HEX_LEN 64
#define TD_PSEUDONYM_MIN_KEY 32

/* The ISO 7064 MOD 11-2 check character ('0'-'9' or 'X') of 17 digits. */
char td_idnum_check_char(const char body[17]);

/* Normalises an identity number as departments write it: surrounding ASCII
 * and ideographic spaces removed, full-width digits and X made ASCII, x made
 * X, a legacy 15-digit number converted to 18 digits (19 inserted before the
 * two-digit year, check character appended). Then validates: 18 characters,
 * 17 digits and a digit or X, a real birth date not after `today` (days since
 * 1970-01-01; pass INT32_MAX to skip that check) and not before 1900, a
 * province code 11-91, and the check character. Writes 18 characters and a
 * NUL into out. Returns 0 or -EINVAL with a reason that never contains the
 * number. */
int td_idnum_normalize(const char *in, size_t len, int32_t today,
                       char out[TD_IDNUM_LEN + 1], td_error *err);

/* Birth date (days since 1970-01-01) of a normalised number. */
int32_t td_idnum_birth_date(const char id[TD_IDNUM_LEN]);
/* 1 male, 2 female (the sequence digit's parity). */
int td_idnum_sex(const char id[TD_IDNUM_LEN]);

/* HMAC-SHA256(key, id) as 64 lower-case hex characters plus NUL: the person
 * key of departments that must not let identity numbers leave them in clear.
 * The key must be at least TD_PSEUDONYM_MIN_KEY bytes. 0 or -EINVAL. */
int td_idnum_pseudonymize(const unsigned char *key, size_t key_len,
                          const char id[TD_IDNUM_LEN],
                          char out[TD_PSEUDONYM_HEX_LEN + 1]);

#endif
