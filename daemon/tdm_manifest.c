/* tdm_manifest: see tdm_manifest.h. */
#include "tdm_manifest.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TDM_MANIFEST_MAGIC "tdm1"

static size_t tdm_digits_u64(uint64_t v)
{
    size_t n = 1;
    while (v >= 10) {
        v /= 10;
        n++;
    }
    return n;
}

static size_t tdm_start_len(int64_t start)
{
    return start < 0 ? 2 : tdm_digits_u64((uint64_t)start);
}

static size_t tdm_run_len(const tdm_manifest_run *r)
{
    return 2 + tdm_digits_u64(r->pos) + tdm_digits_u64(r->count); /* " pos+count" */
}

void tdm_manifest_reset(tdm_manifest *m, int64_t start)
{
    m->start = start < -1 ? -1 : start;
    m->nruns = 0;
    m->records = 0;
    m->len = strlen(TDM_MANIFEST_MAGIC) + 1 + tdm_start_len(m->start);
}

void tdm_manifest_done(tdm_manifest *m)
{
    if (!m)
        return;
    free(m->runs);
    memset(m, 0, sizeof(*m));
}

static int tdm_manifest_push(tdm_manifest *m, uint32_t pos, uint32_t count)
{
    if (m->nruns == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 16;
        tdm_manifest_run *v = realloc(m->runs, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        m->runs = v;
        m->cap = cap;
    }
    m->runs[m->nruns].pos = pos;
    m->runs[m->nruns].count = count;
    m->len += tdm_run_len(&m->runs[m->nruns]);
    m->nruns++;
    m->records += count;
    return 0;
}

int tdm_manifest_add(tdm_manifest *m, uint32_t pos)
{
    tdm_manifest_run *last = m->nruns ? &m->runs[m->nruns - 1] : NULL;

    if (last && (uint64_t)pos < (uint64_t)last->pos + last->count)
        return -EINVAL;
    if (last && (uint64_t)pos == (uint64_t)last->pos + last->count && last->count < UINT32_MAX) {
        m->len -= tdm_run_len(last);
        last->count++;
        m->len += tdm_run_len(last);
        m->records++;
        return 0;
    }
    return tdm_manifest_push(m, pos, 1);
}

int tdm_manifest_encode(const tdm_manifest *m, char *buf, size_t size)
{
    size_t n;

    if (size < m->len || m->len > (size_t)INT32_MAX)
        return -ENOSPC;
    /* m->len counts the text exactly; snprintf needs room for its NUL, so
     * each piece is written through a small buffer */
    {
        char tmp[48];
        int k = snprintf(tmp, sizeof(tmp), TDM_MANIFEST_MAGIC " %" PRId64, m->start);
        memcpy(buf, tmp, (size_t)k);
        n = (size_t)k;
        for (size_t i = 0; i < m->nruns; i++) {
            k = snprintf(tmp, sizeof(tmp), " %" PRIu32 "+%" PRIu32, m->runs[i].pos,
                         m->runs[i].count);
            memcpy(buf + n, tmp, (size_t)k);
            n += (size_t)k;
        }
    }
    return (int)n;
}

/* A decimal number of at most 19 digits (no sign, no leading zero unless it
 * is 0) at *p, below end; moves *p past it. */
static bool tdm_parse_num(const char **p, const char *end, uint64_t max, uint64_t *ret)
{
    const char *s = *p;
    uint64_t v = 0;
    size_t n = 0;

    while (s < end && *s >= '0' && *s <= '9') {
        if (n == 19)
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
        s++;
        n++;
    }
    if (n == 0 || (n > 1 && **p == '0') || v > max)
        return false;
    *p = s;
    *ret = v;
    return true;
}

int tdm_manifest_decode(const void *text, size_t len, tdm_manifest *m, td_error *err)
{
    const char *p = text, *end = p ? p + len : NULL;
    size_t magic = strlen(TDM_MANIFEST_MAGIC);
    int64_t start;
    uint64_t v;
    int r;

    tdm_manifest_reset(m, -1);
    if (!p || len <= magic || memcmp(p, TDM_MANIFEST_MAGIC " ", magic + 1) != 0)
        return td_error_set(err, -EPROTO, "not a batch manifest (%zu bytes%s)", len,
                            len ? " without \"" TDM_MANIFEST_MAGIC " \" at the start" : "");
    if (len > TDM_MANIFEST_MAX)
        return td_error_set(err, -EINVAL, "batch manifest of %zu bytes, more than %d", len,
                            TDM_MANIFEST_MAX);
    p += magic + 1;
    if (end - p >= 2 && p[0] == '-' && p[1] == '1' && (end - p == 2 || p[2] == ' ')) {
        start = -1;
        p += 2;
    } else if (tdm_parse_num(&p, end, INT64_MAX, &v)) {
        start = (int64_t)v;
    } else {
        return td_error_set(err, -EINVAL, "batch manifest: the start offset is not a number "
                            "(at byte %zu)", (size_t)(p - (const char *)text));
    }
    tdm_manifest_reset(m, start);
    while (p < end) {
        uint64_t pos, count;
        const char *at = p;
        if (*p != ' ' || (++p, !tdm_parse_num(&p, end, UINT32_MAX, &pos)) || p >= end ||
            *p++ != '+' || !tdm_parse_num(&p, end, UINT32_MAX, &count)) {
            r = td_error_set(err, -EINVAL, "batch manifest: a run is not \" <pos>+<count>\" "
                             "(at byte %zu)", (size_t)(at - (const char *)text));
            goto fail;
        }
        if (count == 0 || pos + count > (uint64_t)UINT32_MAX + 1) {
            r = td_error_set(err, -EINVAL, "batch manifest: run %" PRIu64 "+%" PRIu64
                             " is empty or past the last position", pos, count);
            goto fail;
        }
        if (m->nruns &&
            pos < (uint64_t)m->runs[m->nruns - 1].pos + m->runs[m->nruns - 1].count) {
            r = td_error_set(err, -EINVAL, "batch manifest: run %" PRIu64 "+%" PRIu64
                             " overlaps or precedes the run before it", pos, count);
            goto fail;
        }
        if (tdm_manifest_push(m, (uint32_t)pos, (uint32_t)count) < 0) {
            r = td_error_set(err, -ENOMEM, "out of memory");
            goto fail;
        }
    }
    return 0;
fail:
    tdm_manifest_reset(m, -1);
    return r;
}

int tdm_manifest_plan(const tdm_manifest *const *m, size_t n, uint32_t **ret_order,
                      size_t *ret_total, td_error *err)
{
    uint64_t total = 0;
    uint32_t *order = NULL;

    for (size_t i = 0; i < n; i++)
        total += m[i]->records;
    if (total > (uint64_t)UINT32_MAX)
        return td_error_set(err, -EINVAL, "batch manifests of %" PRIu64 " records", total);
    if (total > 0) {
        order = malloc((size_t)total * sizeof(*order));
        if (!order)
            return td_error_set(err, -ENOMEM, "out of memory");
        for (uint64_t k = 0; k < total; k++)
            order[k] = UINT32_MAX;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m[i]->nruns; j++) {
            const tdm_manifest_run *run = &m[i]->runs[j];
            for (uint64_t k = run->pos; k < (uint64_t)run->pos + run->count; k++) {
                if (k >= total || order[k] != UINT32_MAX) {
                    free(order);
                    return td_error_set(err, -EINVAL, "batch manifests: position %" PRIu64
                                        " %s", k, k >= total ? "is past the batch's records "
                                        "(a partition of the batch is missing)"
                                        : "is claimed by two partitions");
                }
                order[k] = (uint32_t)i;
            }
        }
    /* every position claimed: the counts add up to total and none is
     * claimed twice, so none is left */
    *ret_order = order;
    *ret_total = (size_t)total;
    return 0;
}
