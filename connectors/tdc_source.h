/* tdc_source: where rows come from. One interface, two kinds: spooldir (CSV
 * files dropped into a directory) and postgres (a table or view polled by
 * (updated_at, id)).
 *
 * The engine drives a source from one thread:
 *
 *   tdc_source_new()                      config -> source (no I/O yet)
 *   tdc_source_resume(src, committed)     committed: the position read back
 *                                         from the offsets topic, or NULL;
 *                                         also called again while running,
 *                                         after an aborted transaction, to
 *                                         go back to the committed position
 *   loop:
 *     tdc_source_next(src, &row)          TDC_NEXT_ROW      a row (borrowed; every
 *                                                            field set, the unused ones 0)
 *                                         TDC_NEXT_IDLE     nothing now: wait
 *                                                            (tdc_source_wait_fd /
 *                                                            poll interval) and ask again
 *                                         TDC_NEXT_END_UNIT the current unit (file)
 *                                                            ended after its last row;
 *                                                            tdc_source_position() now
 *                                                            says FINISHED (or ERROR)
 *     tdc_source_unit_counts(src, ...)    after END_UNIT, before the commit:
 *                                         how this run's rows of the unit went
 *     ... the engine commits a transaction holding the rows' records and
 *     tdc_source_position() ...
 *     tdc_source_committed(src, &pos)     after the commit: a spooldir moves a
 *                                         FINISHED file to finished/ (ERROR to
 *                                         error/); postgres does nothing
 *   tdc_source_free()
 *
 * Exactly once: a row is consumed when the transaction holding the position
 * after it commits. Resuming at a committed position must yield exactly the
 * rows after it, in the same order, with the same row numbers.
 *
 * Errors are values (0 or -errno, text in td_error). A unit that cannot be
 * read at all (unreadable file, invalid encoding everywhere) is reported by
 * ending it with state ERROR and a reason, not by failing the connector;
 * a negative return means the source itself is broken (directory gone,
 * database unreachable for longer than allowed): the engine logs and retries.
 */
#ifndef TDC_SOURCE_H
#define TDC_SOURCE_H

#include "td_error.h"
#include <errno.h>
#include "tdc_row.h"

typedef struct tdc_source tdc_source;
struct tdc_source_config; /* tdc_config.h */

enum {
    TDC_NEXT_IDLE = 0,
    TDC_NEXT_ROW = 1,
    TDC_NEXT_END_UNIT = 2,
};

typedef struct tdc_source_ops {
    const char *kind; /* "spooldir", "postgres" */
    int (*resume)(tdc_source *src, const tdc_position *committed, td_error *err);
    int (*next)(tdc_source *src, tdc_row *row, td_error *err);
    void (*position)(const tdc_source *src, tdc_position *ret);
    int (*committed)(tdc_source *src, const tdc_position *pos, td_error *err);
    int (*wait_fd)(const tdc_source *src); /* -1: poll by interval */
    const char *(*status)(const tdc_source *src); /* for STATUS= and logs */
    /* Optional. After END_UNIT, before the commit of the unit's end: of the
     * unit's rows this run read (from first_row on; first_row 0: none),
     * how many were published and how many dead-lettered. A spooldir puts
     * them in the .error.txt of a file that ended in ERROR. */
    void (*unit_counts)(tdc_source *src, int64_t first_row, int64_t published, int64_t rejected);
    /* Optional (NULL: the source has no such figure, e.g. spooldir). The
     * rows of the source beyond the current position that are readable now
     * (committed, settled), i.e. still to be read. May ask the source's
     * database (a bounded statement): called on the engine's thread, between
     * transactions, at most every so often. 0, or -errno (text in err) when
     * the figure is not known now (not connected, the count failed). */
    int (*lag)(tdc_source *src, int64_t *rows, td_error *err);
    void (*free)(tdc_source *src);
} tdc_source_ops;

/* Every source struct starts with this. */
struct tdc_source {
    const tdc_source_ops *ops;
};

static inline int tdc_source_resume(tdc_source *s, const tdc_position *p, td_error *e)
{
    return s->ops->resume(s, p, e);
}
static inline int tdc_source_next(tdc_source *s, tdc_row *r, td_error *e)
{
    return s->ops->next(s, r, e);
}
static inline void tdc_source_position(const tdc_source *s, tdc_position *p)
{
    s->ops->position(s, p);
}
static inline int tdc_source_committed(tdc_source *s, const tdc_position *p, td_error *e)
{
    return s->ops->committed(s, p, e);
}
static inline int tdc_source_wait_fd(const tdc_source *s)
{
    return s->ops->wait_fd ? s->ops->wait_fd(s) : -1;
}
static inline const char *tdc_source_status(const tdc_source *s)
{
    return s->ops->status ? s->ops->status(s) : "";
}
static inline void tdc_source_unit_counts(tdc_source *s, int64_t first_row, int64_t published,
                                          int64_t rejected)
{
    if (s->ops->unit_counts)
        s->ops->unit_counts(s, first_row, published, rejected);
}
/* -ENOTSUP when the source has no lag figure (spooldir). */
static inline int tdc_source_lag(tdc_source *s, int64_t *rows, td_error *e)
{
    if (!s->ops->lag)
        return td_error_set(e, -ENOTSUP, "%s: no lag figure", s->ops->kind);
    return s->ops->lag(s, rows, e);
}
static inline tdc_source *tdc_source_free(tdc_source *s)
{
    if (s)
        s->ops->free(s);
    return NULL;
}

#endif
