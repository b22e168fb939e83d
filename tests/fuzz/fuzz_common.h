/* Helpers shared by the fuzz targets: property failures, the identity-number
 * check of every text a target sees (reasons, error messages), where the
 * fixtures are, and small readers. Static inline so that each target takes
 * what it uses.
 */
#ifndef TD_FUZZ_COMMON_H
#define TD_FUZZ_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "td_date.h"
#include "td_idnum.h"

/* The targets' own checks are not instrumented for coverage: they are not
 * what is fuzzed, and libFuzzer's comparison tracing in their byte loops
 * took a quarter of fuzz_dataset's time. */
#if defined(__clang__)
#define FUZZ_UNTRACED __attribute__((no_sanitize("coverage")))
#else
#define FUZZ_UNTRACED
#endif

#ifndef TD_FUZZ_SOURCE_ROOT
#define TD_FUZZ_SOURCE_ROOT "."
#endif

/* A property does not hold: says which (and the text at fault, which is the
 * fuzzer's own input, never real data) and aborts, so that libFuzzer keeps
 * the input as a crash and the driver's test fails. */
__attribute__((noreturn, format(printf, 2, 3))) static inline void
fuzz_fail(const char *target, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: property failed: ", target);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

/* The digit at s (s[0..n)): its length in bytes (1 for ASCII, 3 for a
 * full-width digit U+FF10..U+FF19), 0 if it is not one. */
FUZZ_UNTRACED static inline size_t fuzz_digit_at(const unsigned char *s, size_t n)
{
    if (n >= 1 && s[0] >= '0' && s[0] <= '9')
        return 1;
    if (n >= 3 && s[0] == 0xEF && s[1] == 0xBC && s[2] >= 0x90 && s[2] <= 0x99)
        return 3;
    return 0;
}

/* Whether the n characters at d (ASCII digits, the last of 18 maybe X) are
 * an identity number as tuodi itself reads one: td_idnum_normalize accepts
 * them (province, a real birth date in 1900..2099, and for 18 the check
 * character). */
FUZZ_UNTRACED static inline bool fuzz_is_idnum(const char *d, size_t n)
{
    static int32_t last_day; /* 2099-12-31 */
    char out[TD_IDNUM_LEN + 1];

    if (!last_day && !td_date_from_ymd(2099, 12, 31, &last_day))
        abort();
    return td_idnum_normalize(d, n, last_day, out, NULL) == 0;
}

/* Where text holds an identity number: a run of exactly 15 digits (ASCII or
 * full-width), or of 17 digits and a digit or X/x, or any 15- or
 * 18-character window of a longer run that is an identity number (an
 * identity number with digits glued on by a lost delimiter). Returns the
 * byte offset of the run, or -1 when there is none. */
FUZZ_UNTRACED static inline long fuzz_idnum_shape_at(const char *text, size_t n)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;

    while (i < n) {
        size_t start = i, digits = 0, d;
        char run[256];

        while (i < n && (d = fuzz_digit_at(s + i, n - i)) != 0) {
            if (digits < sizeof(run) - 1)
                run[digits] = d == 1 ? (char)s[i] : (char)('0' + (s[i + 2] - 0x90));
            i += d;
            digits++;
        }
        if (digits == 0) {
            i++;
            continue;
        }
        size_t only_digits = digits;
        if (i < n && (s[i] == 'X' || s[i] == 'x')) {
            if (digits < sizeof(run) - 1)
                run[digits] = 'X';
            digits++;
            i++;
        } else if (n - i >= 3 && s[i] == 0xEF &&
                   ((s[i + 1] == 0xBC && s[i + 2] == 0xB8) || (s[i + 1] == 0xBD && s[i + 2] == 0x98))) {
            if (digits < sizeof(run) - 1)
                run[digits] = 'X';
            digits++;
            i += 3;
        }
        if (digits > sizeof(run) - 1)
            digits = sizeof(run) - 1; /* the windows of its first 255 characters */
        /* 15 digits, or 17 digits and a digit or X */
        if ((only_digits == 15 && digits == 15) || (only_digits >= 17 && digits == 18))
            return (long)start;
        for (size_t w = 0; w + 15 <= digits; w++) {
            if (run[w + 14] != 'X' && fuzz_is_idnum(run + w, 15))
                return (long)start;
            if (w + 18 <= digits && fuzz_is_idnum(run + w, 18))
                return (long)start;
        }
    }
    return -1;
}

/* Fails when text (NUL-terminated, may be NULL) holds an identity number's
 * shape; what names the text. */
FUZZ_UNTRACED static inline void fuzz_check_no_idnum(const char *target, const char *what, const char *text)
{
    long at;

    if (!text)
        return;
    at = fuzz_idnum_shape_at(text, strlen(text));
    if (at >= 0)
        fuzz_fail(target, "%s holds an identity number's shape at byte %ld: %s", what, at, text);
}

/* Is s[0..n) valid UTF-8 (no surrogates, no overlongs)? */
FUZZ_UNTRACED static inline bool fuzz_utf8_valid(const char *text, size_t n)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;

    while (i < n) {
        unsigned c = s[i], lo = 0x80, hi = 0xBF;
        size_t need;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF)
            need = 1;
        else if (c == 0xE0)
            need = 2, lo = 0xA0;
        else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF)
            need = 2;
        else if (c == 0xED)
            need = 2, hi = 0x9F;
        else if (c == 0xF0)
            need = 3, lo = 0x90;
        else if (c >= 0xF1 && c <= 0xF3)
            need = 3;
        else if (c == 0xF4)
            need = 3, hi = 0x8F;
        else
            return false;
        if (n - i <= need)
            return false;
        for (size_t k = 1; k <= need; k++) {
            unsigned t = s[i + k];
            if (k == 1 ? (t < lo || t > hi) : (t < 0x80 || t > 0xBF))
                return false;
        }
        i += need + 1;
    }
    return true;
}

/* The source tree: TD_SOURCE_ROOT when set (meson test sets it), else the
 * directory compiled in. */
static inline const char *fuzz_source_root(void)
{
    const char *root = getenv("TD_SOURCE_ROOT");

    return root && *root ? root : TD_FUZZ_SOURCE_ROOT;
}

/* The NUL-terminated contents of SOURCE_ROOT/rel (malloc'd), or NULL. */
static inline char *fuzz_read_source(const char *rel, size_t *ret_len)
{
    char path[4096];
    FILE *f;
    char *buf = NULL;
    size_t len = 0, cap = 0, n;

    snprintf(path, sizeof(path), "%s/%s", fuzz_source_root(), rel);
    f = fopen(path, "rb");
    if (!f)
        return NULL;
    do {
        if (cap - len < 4097) {
            char *nb = realloc(buf, cap = cap ? 2 * cap : 8192);
            if (!nb) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = nb;
        }
        n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
    } while (n > 0);
    fclose(f);
    buf[len] = '\0';
    if (ret_len)
        *ret_len = len;
    return buf;
}

/* A NUL-terminated copy of data[0..size) (malloc'd; aborts on no memory). */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);

    if (!s)
        abort();
    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

#endif
