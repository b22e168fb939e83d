/* td_str: the small string helpers every module needs, written once: a
 * growing buffer, printf into a new string, "did you mean", digit checks and
 * the name check for instance and group names. Pure functions with no global
 * state: thread-safe as long as each td_str_buf and td_str_suggest is used by
 * one thread. */
#ifndef TD_STR_H
#define TD_STR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

/* ---- A growing, always NUL-terminated buffer. ----
 *
 *   td_str_buf b = {0};
 *   td_str_buf_add(&b, "SELECT ");
 *   td_str_buf_addf(&b, "%s", col);
 *   char *s = td_str_buf_steal(&b);   // NULL: out of memory at some point
 *
 * Start from {0}. The first failed allocation makes the buffer "oom": later
 * appends do nothing, so a caller checks once, at td_str_buf_steal(). p is
 * NUL-terminated whenever it is not NULL. */
typedef struct td_str_buf {
    char *p;
    size_t len, cap;
    bool oom;
} td_str_buf;

/* Appends the n bytes at s (which need no NUL). */
void td_str_buf_addn(td_str_buf *b, const char *s, size_t n);
/* Appends the NUL-terminated s. */
void td_str_buf_add(td_str_buf *b, const char *s);
/* Appends printf-formatted text; a format error makes the buffer oom. */
void td_str_buf_addf(td_str_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The text, malloc'd, which the caller frees ("" when nothing was added), or
 * NULL when memory ran out. Either way b is left empty ({0}) and owns
 * nothing. */
char *td_str_buf_steal(td_str_buf *b);
/* Frees what b holds and leaves it empty. Accepts NULL. */
void td_str_buf_reset(td_str_buf *b);

/* ---- printf into a new string. ---- */

/* A malloc'd formatted string (the caller frees it), or NULL on out of
 * memory or a format error. td_str_vprintf leaves ap as vsnprintf does. */
char *td_str_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *td_str_vprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* ---- "Did you mean". ----
 *
 * One rule for every suggestion the programs make for a mistyped key, name or
 * value: the candidate closest to the word within 2 edits (td_edit_distance:
 * insertions, deletions, substitutions, adjacent transpositions), if it is
 * fewer edits than the word has bytes; on a tie the first one offered. With
 * none that close, the first candidate the word (3 bytes at least) is the
 * start of. Otherwise no suggestion.
 *
 *   td_str_suggest s;
 *   td_str_suggest_init(&s, word);
 *   for (...) td_str_suggest_add(&s, name);
 *   const char *best = td_str_suggest_best(&s);  // a candidate, or NULL
 *
 * The candidates are not copied: they must outlive the td_str_suggest. */
typedef struct td_str_suggest {
    const char *word;
    size_t word_len;
    const char *best;   /* closest so far */
    size_t best_d;
    const char *prefix; /* first candidate word is the start of */
} td_str_suggest;

void td_str_suggest_init(td_str_suggest *s, const char *word);
void td_str_suggest_add(td_str_suggest *s, const char *candidate);
const char *td_str_suggest_best(const td_str_suggest *s);

/* ---- Digits and names. ---- */

/* True when each of the len bytes at s is an ASCII digit '0'..'9' (also for
 * len 0: callers check the length they want). s needs no NUL. */
bool td_str_all_digits(const char *s, size_t len);

/* True when the NUL-terminated s is exactly n ASCII digits. NULL: false. */
bool td_str_digits(const char *s, size_t n);

/* True when s is 1 to max bytes of ASCII letters, digits, '.', '_' and '-':
 * a name that may become part of a Kafka transactional.id, a topic or a key
 * ("<instance>/<source id>"). NULL: false. */
bool td_str_name_ok(const char *s, size_t max);

#endif
