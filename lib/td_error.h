/* td_error: the project's one error convention.
 *
 * Every fallible function returns 0 on success or a negative errno-style code
 * (-EINVAL, -ENOENT, ...), and writes its out-parameters only on success.
 * Where a human needs to know why, the caller passes a td_error that receives
 * the text (NULL is allowed: then only the code is returned). Libraries do not
 * log; the caller logs once, with its own context.
 *
 * Texts name where a problem came from (file:line:col, topic/partition/offset)
 * and never contain an identity number.
 */
#ifndef TD_ERROR_H
#define TD_ERROR_H

#include <stddef.h>

#define TD_ERROR_MSG_MAX 2048

typedef struct td_error {
    int code;                    /* the negative code last set, 0 if none */
    char msg[TD_ERROR_MSG_MAX];  /* NUL-terminated, possibly several lines */
} td_error;

/* Sets err (if not NULL) to code and the formatted text, replacing what was
 * there. Returns code, so that `return td_error_set(err, -EINVAL, ...)` reads
 * naturally. code must be negative. */
int td_error_set(td_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like td_error_set but appends the text as a new line after what err holds
 * (used by loaders that report several problems at once). The code is kept if
 * one was set already. Text that does not fit is cut and ends in "...". */
int td_error_append(td_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Puts the formatted text before what err holds and sets the code: the way
 * to add context to an error on its way up, e.g.
 *     return td_error_prefix(err, r, "alert %s: ", id);
 * turns "disk full" into "alert 1f2e: disk full". Never pass err->msg (or
 * td_error_msg(err)) as an argument of td_error_set/append for the same err:
 * use this instead (tests/unit/test_error.c scans the tree for it). Returns
 * code. */
int td_error_prefix(td_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Resets err to "no error". Accepts NULL. */
void td_error_clear(td_error *err);

/* The text of err, or "" when err is NULL or holds nothing. */
const char *td_error_msg(const td_error *err);

#endif
