/* tdc_reasons: counts a unit's (file's) rejections by reason class, for the
 * one warning the connector logs at the unit's end.
 *
 * A reason class is the reason with its row-specific values left out, so
 * that "出生日期: "1990-13-01" is not a date" and "出生日期: "2001-02-30"
 * is not a date" count as one:
 *   - a quoted value ("...", as the datasets quote a cell) becomes "…";
 *   - a run of ASCII digits, or of '*' (a masked identity number), becomes
 *     one '#' (row numbers, counts, sizes, years);
 *   - everything else (column names, field paths, the sentence) is kept.
 * Reasons differ only in such values when they come from one place in the
 * code with the same column, so a class is one template and one column.
 *
 * tdc_reasons is a plain value (no pointers): copy it to keep a snapshot
 * (the connector keeps the committed one to go back to at an abort). It
 * counts at most TDC_REASONS_MAX classes; rejections of further classes are
 * counted as "other". One thread at a time.
 */
#ifndef TDC_REASONS_H
#define TDC_REASONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TDC_REASONS_MAX 16
#define TDC_REASONS_EXAMPLE 400 /* bytes of a class's first reason kept */

typedef struct tdc_reason_class {
    uint64_t hash;  /* of the class text (tdc_reason_class_of) */
    int64_t count;
    bool differ;    /* the class's reasons were not all the same text */
    char example[TDC_REASONS_EXAMPLE]; /* the first reason, cut at a character */
} tdc_reason_class;

typedef struct tdc_reasons {
    tdc_reason_class classes[TDC_REASONS_MAX];
    size_t nclasses;
    int64_t total;
    int64_t other; /* rejections beyond TDC_REASONS_MAX classes */
} tdc_reasons;

/* Writes reason's class (see above) into buf (size > 0, NUL-terminated, cut
 * to fit at a character). Returns buf. */
char *tdc_reason_class_of(const char *reason, char *buf, size_t size);

/* Counts one rejection with reason (identity numbers already masked). */
void tdc_reasons_add(tdc_reasons *t, const char *reason);

/* Writes "N × "reason"" for the (at most) three commonest classes,
 * commonest first (ties: the first seen first), "; "-separated, a class
 * whose reasons differ marked "(e.g.)", then "; and N more for M other
 * reasons" when there are more, into buf (NUL-terminated, cut to fit).
 * Nothing (an empty string) when nothing was counted. Returns buf. */
char *tdc_reasons_format(const tdc_reasons *t, char *buf, size_t size);

#endif
