/* td_metrics: see td_metrics.h. */
#include "td_metrics.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const double td_metrics_seconds_buckets[TD_METRICS_SECONDS_NB] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60,
};

typedef enum { TD_M_COUNTER, TD_M_GAUGE, TD_M_HISTOGRAM } td_mtype;

typedef struct td_series {
    char *vals[TD_METRICS_MAX_LABELS];
    double v;          /* counter, gauge */
    uint64_t *buckets; /* histogram: per bucket (not cumulative) */
    double sum;
    uint64_t count;
} td_series;

struct td_metric {
    td_metrics *reg;
    char *name; /* full */
    char *help;
    td_mtype type;
    char *labels[TD_METRICS_MAX_LABELS];
    size_t nlabels;
    double *bounds;
    size_t nbounds;
    td_series *series;
    size_t nseries, cap;
};

struct td_metrics {
    pthread_mutex_t mu;
    char *prefix;
    td_metric **fam;
    size_t nfam;
    struct {
        td_metrics_collect_fn fn;
        void *opaque;
    } collect[8];
    size_t ncollect;
    uint64_t refused; /* label values refused */
};

td_metrics *td_metrics_new(const char *prefix)
{
    td_metrics *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->prefix = strdup(prefix ? prefix : "tuodi");
    if (!m->prefix) {
        free(m);
        return NULL;
    }
    pthread_mutex_init(&m->mu, NULL);
    return m;
}

static void td_series_free(td_series *s, size_t nl)
{
    for (size_t i = 0; i < nl; i++)
        free(s->vals[i]);
    free(s->buckets);
}

static void td_family_free(td_metric *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->nseries; i++)
        td_series_free(&f->series[i], f->nlabels);
    for (size_t i = 0; i < f->nlabels; i++)
        free(f->labels[i]);
    free(f->series);
    free(f->bounds);
    free(f->name);
    free(f->help);
    free(f);
}

void td_metrics_free(td_metrics *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nfam; i++)
        td_family_free(m->fam[i]);
    free(m->fam);
    free(m->prefix);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static bool td_name_ok(const char *s)
{
    if (!s || !*s || isdigit((unsigned char)*s))
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_')
            return false;
    return true;
}

static td_metric *td_family(td_metrics *m, const char *name, const char *help,
                            const char *labels, td_mtype type, const double *bounds, size_t nb)
{
    td_metric *f = NULL;
    char full[256], lbuf[256];
    size_t nl = 0;
    char *names[TD_METRICS_MAX_LABELS] = {0};

    if (!m || !td_name_ok(name))
        return NULL;
    snprintf(full, sizeof(full), "%s_%s", m->prefix, name);
    if (labels && *labels) {
        char *save = NULL;
        snprintf(lbuf, sizeof(lbuf), "%s", labels);
        for (char *t = strtok_r(lbuf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            if (nl == TD_METRICS_MAX_LABELS || !td_name_ok(t) || strcmp(t, "le") == 0)
                return NULL;
            names[nl++] = t;
        }
    }
    for (size_t i = 1; i < nb; i++)
        if (!(bounds[i] > bounds[i - 1]))
            return NULL;
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->nfam; i++) {
        td_metric *g = m->fam[i];
        if (strcmp(g->name, full) != 0)
            continue;
        bool same = g->type == type && g->nlabels == nl;
        for (size_t k = 0; same && k < nl; k++)
            same = strcmp(g->labels[k], names[k]) == 0;
        pthread_mutex_unlock(&m->mu);
        return same ? g : NULL;
    }
    f = calloc(1, sizeof(*f));
    td_metric **nf = f ? realloc(m->fam, (m->nfam + 1) * sizeof(*nf)) : NULL;
    if (!nf)
        goto fail;
    m->fam = nf;
    f->reg = m;
    f->type = type;
    f->name = strdup(full);
    f->help = strdup(help ? help : "");
    if (!f->name || !f->help)
        goto fail;
    for (size_t k = 0; k < nl; k++) {
        if (!(f->labels[k] = strdup(names[k])))
            goto fail;
        f->nlabels = k + 1;
    }
    if (type == TD_M_HISTOGRAM) {
        f->bounds = malloc((nb ? nb : 1) * sizeof(double));
        if (!f->bounds)
            goto fail;
        memcpy(f->bounds, bounds, nb * sizeof(double));
        f->nbounds = nb;
    }
    m->fam[m->nfam++] = f;
    pthread_mutex_unlock(&m->mu);
    return f;
fail:
    pthread_mutex_unlock(&m->mu);
    td_family_free(f);
    return NULL;
}

td_metric *td_metrics_counter(td_metrics *m, const char *name, const char *help,
                              const char *labels)
{
    return td_family(m, name, help, labels, TD_M_COUNTER, NULL, 0);
}

td_metric *td_metrics_gauge(td_metrics *m, const char *name, const char *help,
                            const char *labels)
{
    return td_family(m, name, help, labels, TD_M_GAUGE, NULL, 0);
}

td_metric *td_metrics_histogram(td_metrics *m, const char *name, const char *help,
                                const char *labels, const double *buckets, size_t nbuckets)
{
    return td_family(m, name, help, labels, TD_M_HISTOGRAM, buckets, nbuckets);
}

/* A label value tuodi may show: printable ASCII (codes, names of topics,
 * rules, reason classes), at most 200 bytes, no run of 15 or more digits
 * (an identity number). */
static bool td_value_ok(const char *v)
{
    size_t run = 0, n = 0;
    if (!v)
        return false;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++, n++) {
        if (*p < 0x20 || *p > 0x7e || n >= 200)
            return false;
        run = isdigit(*p) ? run + 1 : 0;
        if (run >= 15)
            return false;
    }
    return true;
}

/* The series of f with the values in ap (made when missing); NULL when
 * refused or out of memory. Called with the registry's mutex held. */
static td_series *td_series_get(td_metric *f, va_list ap, bool make)
{
    const char *vals[TD_METRICS_MAX_LABELS];
    td_series *s;

    for (size_t k = 0; k < f->nlabels; k++) {
        vals[k] = va_arg(ap, const char *);
        if (!td_value_ok(vals[k])) {
            f->reg->refused++;
            return NULL;
        }
    }
    for (size_t i = 0; i < f->nseries; i++) {
        size_t k;
        for (k = 0; k < f->nlabels; k++)
            if (strcmp(f->series[i].vals[k], vals[k]) != 0)
                break;
        if (k == f->nlabels)
            return &f->series[i];
    }
    if (!make)
        return NULL;
    if (f->nseries >= TD_METRICS_MAX_SERIES) {
        f->reg->refused++;
        return NULL;
    }
    if (f->nseries == f->cap) {
        size_t nc = f->cap ? f->cap * 2 : 8;
        td_series *ns = realloc(f->series, nc * sizeof(*ns));
        if (!ns)
            return NULL;
        f->series = ns;
        f->cap = nc;
    }
    s = &f->series[f->nseries];
    memset(s, 0, sizeof(*s));
    for (size_t k = 0; k < f->nlabels; k++)
        if (!(s->vals[k] = strdup(vals[k]))) {
            td_series_free(s, k);
            return NULL;
        }
    if (f->type == TD_M_HISTOGRAM && !(s->buckets = calloc(f->nbounds + 1, sizeof(uint64_t)))) {
        td_series_free(s, f->nlabels);
        return NULL;
    }
    f->nseries++;
    return s;
}

void td_metric_add(td_metric *f, double v, ...)
{
    va_list ap;
    td_series *s;
    if (!f || f->type == TD_M_HISTOGRAM || (f->type == TD_M_COUNTER && !(v >= 0)))
        return;
    pthread_mutex_lock(&f->reg->mu);
    va_start(ap, v);
    s = td_series_get(f, ap, true);
    va_end(ap);
    if (s)
        s->v += v;
    pthread_mutex_unlock(&f->reg->mu);
}

void td_metric_set(td_metric *f, double v, ...)
{
    va_list ap;
    td_series *s;
    if (!f || f->type == TD_M_HISTOGRAM)
        return;
    pthread_mutex_lock(&f->reg->mu);
    va_start(ap, v);
    s = td_series_get(f, ap, true);
    va_end(ap);
    /* a counter set: only upwards (a total read from elsewhere) */
    if (s && (f->type == TD_M_GAUGE || v >= s->v))
        s->v = v;
    pthread_mutex_unlock(&f->reg->mu);
}

void td_metric_observe(td_metric *f, double v, ...)
{
    va_list ap;
    td_series *s;
    if (!f || f->type != TD_M_HISTOGRAM || isnan(v))
        return;
    pthread_mutex_lock(&f->reg->mu);
    va_start(ap, v);
    s = td_series_get(f, ap, true);
    va_end(ap);
    if (s) {
        size_t b = 0;
        while (b < f->nbounds && v > f->bounds[b])
            b++;
        s->buckets[b]++;
        s->sum += v;
        s->count++;
    }
    pthread_mutex_unlock(&f->reg->mu);
}

void td_metric_clear(td_metric *f)
{
    if (!f)
        return;
    pthread_mutex_lock(&f->reg->mu);
    for (size_t i = 0; i < f->nseries; i++)
        td_series_free(&f->series[i], f->nlabels);
    f->nseries = 0;
    pthread_mutex_unlock(&f->reg->mu);
}

double td_metric_value(td_metric *f, ...)
{
    va_list ap;
    td_series *s;
    double v = NAN;
    if (!f)
        return NAN;
    pthread_mutex_lock(&f->reg->mu);
    va_start(ap, f);
    s = td_series_get(f, ap, false);
    va_end(ap);
    if (s)
        v = f->type == TD_M_HISTOGRAM ? (double)s->count : s->v;
    pthread_mutex_unlock(&f->reg->mu);
    return v;
}

int td_metrics_on_collect(td_metrics *m, td_metrics_collect_fn fn, void *opaque)
{
    int r = 0;
    pthread_mutex_lock(&m->mu);
    if (m->ncollect == sizeof(m->collect) / sizeof(m->collect[0]))
        r = -ENOSPC;
    else {
        m->collect[m->ncollect].fn = fn;
        m->collect[m->ncollect].opaque = opaque;
        m->ncollect++;
    }
    pthread_mutex_unlock(&m->mu);
    return r;
}

/* ---- rendering ---- */

static void td_put_escaped(FILE *f, const char *s, bool quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\\\", f);
        else if (*s == '\n')
            fputs("\\n", f);
        else if (quote && *s == '"')
            fputs("\\\"", f);
        else
            fputc(*s, f);
    }
}

static void td_put_number(FILE *f, double v)
{
    if (isnan(v))
        fputs("NaN", f);
    else if (isinf(v))
        fputs(v > 0 ? "+Inf" : "-Inf", f);
    else if (v == (double)(int64_t)v && fabs(v) < 9e15)
        fprintf(f, "%lld", (long long)v);
    else {
        /* the shortest text that reads back as v (0.1 + 0.2 is
         * 0.30000000000000004, but 3.055 stays 3.055): no long digit runs
         * that a reader could take for an identity number */
        char buf[40];
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(buf, sizeof(buf), "%.*g", prec, v);
            if (strtod(buf, NULL) == v)
                break;
        }
        fputs(buf, f);
    }
}

/* name{labels[,le="x"]} */
static void td_put_series(FILE *out, const td_metric *f, const td_series *s, const char *suffix,
                          const char *le)
{
    fputs(f->name, out);
    fputs(suffix, out);
    if (f->nlabels || le) {
        fputc('{', out);
        for (size_t k = 0; k < f->nlabels; k++) {
            fprintf(out, "%s%s=\"", k ? "," : "", f->labels[k]);
            td_put_escaped(out, s->vals[k], true);
            fputc('"', out);
        }
        if (le)
            fprintf(out, "%sle=\"%s\"", f->nlabels ? "," : "", le);
        fputc('}', out);
    }
    fputc(' ', out);
}

int td_metrics_render(td_metrics *m, char **ret, size_t *len)
{
    static const char *const types[] = {"counter", "gauge", "histogram"};
    char *buf = NULL;
    size_t n = 0, nc;
    FILE *out;
    struct {
        td_metrics_collect_fn fn;
        void *opaque;
    } cb[8];

    pthread_mutex_lock(&m->mu);
    nc = m->ncollect;
    memcpy(cb, m->collect, nc * sizeof(cb[0]));
    pthread_mutex_unlock(&m->mu);
    for (size_t i = 0; i < nc; i++)
        cb[i].fn(m, cb[i].opaque);

    out = open_memstream(&buf, &n);
    if (!out)
        return -ENOMEM;
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < m->nfam; i++) {
        const td_metric *f = m->fam[i];
        fprintf(out, "# HELP %s ", f->name);
        td_put_escaped(out, f->help, false);
        fprintf(out, "\n# TYPE %s %s\n", f->name, types[f->type]);
        for (size_t j = 0; j < f->nseries; j++) {
            const td_series *s = &f->series[j];
            if (f->type != TD_M_HISTOGRAM) {
                td_put_series(out, f, s, "", NULL);
                td_put_number(out, s->v);
                fputc('\n', out);
                continue;
            }
            uint64_t cum = 0;
            for (size_t b = 0; b <= f->nbounds; b++) {
                char le[64];
                cum += s->buckets[b];
                if (b < f->nbounds)
                    snprintf(le, sizeof(le), "%g", f->bounds[b]);
                else
                    snprintf(le, sizeof(le), "+Inf");
                td_put_series(out, f, s, "_bucket", le);
                fprintf(out, "%llu\n", (unsigned long long)cum);
            }
            td_put_series(out, f, s, "_sum", NULL);
            td_put_number(out, s->sum);
            fputc('\n', out);
            td_put_series(out, f, s, "_count", NULL);
            fprintf(out, "%llu\n", (unsigned long long)s->count);
        }
    }
    fprintf(out, "# HELP %s_metrics_refused_label_values_total Label values td_metrics refused "
            "(not printable ASCII, too long, or 15 digits in a row: an identity number)\n"
            "# TYPE %s_metrics_refused_label_values_total counter\n"
            "%s_metrics_refused_label_values_total %llu\n",
            m->prefix, m->prefix, m->prefix, (unsigned long long)m->refused);
    pthread_mutex_unlock(&m->mu);
    if (fclose(out) != 0) {
        free(buf);
        return -ENOMEM;
    }
    *ret = buf;
    *len = n;
    return 0;
}
