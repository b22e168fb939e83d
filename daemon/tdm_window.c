/* tdm_window: one household's windows, signals and alert suppression. */
#include "tdm_window.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define NO_DAY INT32_MIN

typedef struct bucket {
    int32_t day;
    int64_t amount;
} bucket;

typedef struct series {
    char id[TDM_WINDOW_SERIES_ID_MAX + 1];
    bucket *b;      /* sorted by day, days unique, amounts non-zero */
    size_t n, cap;
} series;

/* The days one rule matched for the subject (a signal of its department). */
typedef struct sigrule {
    char id[TDM_WINDOW_RULE_ID_MAX + 1];
    tdm_department dept;
    int32_t *d;     /* sorted, unique, > floor; n >= 1 */
    size_t n, cap;
} sigrule;

typedef struct rule_state {
    char id[TDM_WINDOW_RULE_ID_MAX + 1];
    bool open;
    tdm_open_alert alert;           /* zeroed when !open */
    bool suppressed;
    int32_t suppressed_until;       /* suppressed while day < this; 0 if not */
    tdm_severity suppressed_severity;
    uint32_t raised;                /* window alerts raised (tdm_window_count_raised) */
    int32_t raised_anchor;          /* the latest anchor among them; 0 if none */
} rule_state;

struct tdm_window {
    int32_t floor;                  /* days <= floor are expired */
    sigrule *g;                     /* sorted by id */
    size_t ng, capg;
    series *s;                      /* sorted by id */
    size_t ns, caps;
    rule_state *r;                  /* sorted by id */
    size_t nr, capr;
};

bool tdm_may_raise(tdm_may m)
{
    return m == TDM_MAY_RAISE;
}

/* ---- helpers ---- */

static bool id_ok(const char *id, size_t max)
{
    size_t n;

    if (!id)
        return false;
    for (n = 0; id[n]; n++) {
        if (n >= max || id[n] < 0x21 || id[n] > 0x7e)
            return false;
    }
    return n > 0;
}

int tdm_window_severity_rank(tdm_severity s)
{
    switch (s) {
    case TDM_SEVERITY_LOW:
        return 1;
    case TDM_SEVERITY_MEDIUM:
        return 2;
    case TDM_SEVERITY_HIGH:
        return 3;
    }
    return 0;
}

static bool sev_ok(tdm_severity s)
{
    return tdm_window_severity_rank(s) != 0;
}

static bool sev_from_rank(unsigned rank, tdm_severity *ret)
{
    static const tdm_severity by_rank[] = {TDM_SEVERITY_LOW, TDM_SEVERITY_MEDIUM,
                                           TDM_SEVERITY_HIGH};
    if (rank < 1 || rank > 3)
        return false;
    *ret = by_rank[rank - 1];
    return true;
}

#define RANK(s) tdm_window_severity_rank(s)

static bool village_ok(const char *v)
{
    size_t n = strnlen(v, TDM_VILLAGE_CODE_LEN + 1);

    if (n == 0)
        return true;
    if (n != TDM_VILLAGE_CODE_LEN)
        return false;
    for (size_t i = 0; i < n; i++)
        if (v[i] < '0' || v[i] > '9')
            return false;
    return true;
}

static bool alert_ok(const tdm_open_alert *a)
{
    return memchr(a->alert_id, 0, sizeof(a->alert_id)) && id_ok(a->alert_id, TDM_ALERT_ID_MAX) &&
           sev_ok(a->severity) && memchr(a->village_code, 0, sizeof(a->village_code)) &&
           village_ok(a->village_code);
}

/* Index of id in the sorted array, or where it would go (*found false). */
#define DEFINE_FIND(name, type)                                               \
    static size_t name(type *arr, size_t n, const char *id, bool *found)      \
    {                                                                         \
        size_t lo = 0, hi = n;                                                \
        while (lo < hi) {                                                     \
            size_t mid = lo + (hi - lo) / 2;                                  \
            int c = strcmp(arr[mid].id, id);                                  \
            if (c == 0) {                                                     \
                *found = true;                                                \
                return mid;                                                   \
            }                                                                 \
            if (c < 0)                                                        \
                lo = mid + 1;                                                 \
            else                                                              \
                hi = mid;                                                     \
        }                                                                     \
        *found = false;                                                       \
        return lo;                                                            \
    }
DEFINE_FIND(find_series, const series)
DEFINE_FIND(find_rule, const rule_state)
DEFINE_FIND(find_sig, const sigrule)

/* Index of the first day >= d in a sorted array. */
static size_t day_bound(const int32_t *days, size_t n, int64_t d)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (days[mid] < d)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* First bucket with day >= d. */
static size_t lower_bound(const series *s, int64_t d)
{
    size_t lo = 0, hi = s->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->b[mid].day < d)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    size_t ncap;
    void *p;

    if (need <= *cap)
        return 0;
    ncap = *cap ? *cap * 2 : 4;
    if (ncap < need)
        ncap = need;
    p = realloc(*arr, ncap * elem);
    if (!p)
        return -ENOMEM;
    *arr = p;
    *cap = ncap;
    return 0;
}

/* ---- lifetime ---- */

tdm_window *tdm_window_new(void)
{
    tdm_window *w = calloc(1, sizeof(*w));

    if (!w)
        return NULL;
    w->floor = NO_DAY;
    return w;
}

tdm_window *tdm_window_free(tdm_window *w)
{
    if (!w)
        return NULL;
    for (size_t i = 0; i < w->ns; i++)
        free(w->s[i].b);
    free(w->s);
    for (size_t i = 0; i < w->ng; i++)
        free(w->g[i].d);
    free(w->g);
    free(w->r);
    free(w);
    return NULL;
}

tdm_window *tdm_window_copy(const tdm_window *w)
{
    tdm_window *c = tdm_window_new();

    if (!c)
        return NULL;
    c->floor = w->floor;
    if (w->ng) {
        c->g = calloc(w->ng, sizeof(*c->g));
        if (!c->g)
            goto fail;
        c->capg = w->ng;
        for (size_t i = 0; i < w->ng; i++) {
            c->g[i] = w->g[i];
            c->g[i].d = malloc(w->g[i].n * sizeof(int32_t));
            c->g[i].n = c->g[i].cap = 0;
            c->ng = i + 1;
            if (!c->g[i].d)
                goto fail;
            memcpy(c->g[i].d, w->g[i].d, w->g[i].n * sizeof(int32_t));
            c->g[i].n = c->g[i].cap = w->g[i].n;
        }
    }
    if (w->ns) {
        c->s = calloc(w->ns, sizeof(*c->s));
        if (!c->s)
            goto fail;
        c->caps = w->ns;
        for (size_t i = 0; i < w->ns; i++) {
            c->s[i] = w->s[i];
            c->s[i].b = NULL;
            c->s[i].cap = 0;
            c->s[i].n = 0;
            c->ns = i + 1;
            if (w->s[i].n) {
                c->s[i].b = malloc(w->s[i].n * sizeof(bucket));
                if (!c->s[i].b)
                    goto fail;
                memcpy(c->s[i].b, w->s[i].b, w->s[i].n * sizeof(bucket));
                c->s[i].n = c->s[i].cap = w->s[i].n;
            }
        }
    }
    if (w->nr) {
        c->r = malloc(w->nr * sizeof(*c->r));
        if (!c->r)
            goto fail;
        memcpy(c->r, w->r, w->nr * sizeof(*c->r));
        c->nr = c->capr = w->nr;
    }
    return c;
fail:
    return tdm_window_free(c);
}

static bool alert_equal(const tdm_open_alert *a, const tdm_open_alert *b)
{
    return strcmp(a->alert_id, b->alert_id) == 0 && a->raised_day == b->raised_day &&
           a->anchor_day == b->anchor_day && a->severity == b->severity && a->visit_due_day == b->visit_due_day &&
           a->procedure_due_day == b->procedure_due_day &&
           a->overdue_warned == b->overdue_warned &&
           strcmp(a->village_code, b->village_code) == 0;
}

bool tdm_window_equal(const tdm_window *a, const tdm_window *b)
{
    if (a->floor != b->floor || a->ng != b->ng || a->ns != b->ns || a->nr != b->nr)
        return false;
    for (size_t i = 0; i < a->ng; i++) {
        const sigrule *x = &a->g[i], *y = &b->g[i];
        if (strcmp(x->id, y->id) != 0 || x->dept != y->dept || x->n != y->n ||
            memcmp(x->d, y->d, x->n * sizeof(int32_t)) != 0)
            return false;
    }
    for (size_t i = 0; i < a->ns; i++) {
        const series *x = &a->s[i], *y = &b->s[i];
        if (strcmp(x->id, y->id) != 0 || x->n != y->n)
            return false;
        for (size_t k = 0; k < x->n; k++)
            if (x->b[k].day != y->b[k].day || x->b[k].amount != y->b[k].amount)
                return false;
    }
    for (size_t i = 0; i < a->nr; i++) {
        const rule_state *x = &a->r[i], *y = &b->r[i];
        if (strcmp(x->id, y->id) != 0 || x->open != y->open || x->suppressed != y->suppressed)
            return false;
        if (x->suppressed && (x->suppressed_until != y->suppressed_until ||
                              x->suppressed_severity != y->suppressed_severity))
            return false;
        if (x->open && !alert_equal(&x->alert, &y->alert))
            return false;
        if (x->raised != y->raised || x->raised_anchor != y->raised_anchor)
            return false;
    }
    return true;
}

int tdm_window_absorb(tdm_window *dst, tdm_window *src)
{
    tdm_window *t, tmp;
    int r = 0;

    if (!dst || !src || dst == src)
        return -EINVAL;
    if (src->ns == 0 && src->ng == 0)
        return 0;
    t = tdm_window_copy(dst); /* all or nothing: build the result aside */
    if (!t)
        return -ENOMEM;
    for (size_t i = 0; i < src->ns && r == 0; i++)
        for (size_t k = 0; k < src->s[i].n && r == 0; k++)
            if (src->s[i].b[k].day > t->floor)
                r = tdm_window_add(t, src->s[i].id, src->s[i].b[k].day, src->s[i].b[k].amount);
    for (size_t i = 0; i < src->ng && r == 0; i++)
        for (size_t k = 0; k < src->g[i].n && r == 0; k++)
            if (src->g[i].d[k] > t->floor)
                r = tdm_window_signal(t, src->g[i].id, src->g[i].dept, src->g[i].d[k]);
    if (r < 0) {
        tdm_window_free(t);
        return r;
    }
    tmp = *dst;
    *dst = *t;
    *t = tmp;
    tdm_window_free(t);
    for (size_t i = 0; i < src->ns; i++)
        free(src->s[i].b);
    free(src->s);
    src->s = NULL;
    src->ns = src->caps = 0;
    for (size_t i = 0; i < src->ng; i++)
        free(src->g[i].d);
    free(src->g);
    src->g = NULL;
    src->ng = src->capg = 0;
    return 1;
}

bool tdm_window_is_empty(const tdm_window *w)
{
    return w->floor == NO_DAY && !w->ns && !w->nr && !w->ng;
}

bool tdm_window_is_spent(const tdm_window *w)
{
    return !w->ns && !w->nr && !w->ng;
}

int32_t tdm_window_spent_day(const tdm_window *w, int keep_days)
{
    /* expire(today) drops days <= today - keep_days (so a day d goes at
     * today >= d + keep_days), suppressions ending by the new floor + 1 (at
     * today >= until + keep_days - 1), and rules with neither open nor
     * suppressed whenever the floor moves (today > floor + keep_days). */
    int64_t day = INT32_MIN;

    if (keep_days < 1 || keep_days > TDM_WINDOW_MAX_DAYS)
        return INT32_MAX;
    if (tdm_window_is_spent(w))
        return INT32_MIN;
    if (w->nr && w->floor != NO_DAY)
        day = (int64_t)w->floor + keep_days + 1;
    for (size_t i = 0; i < w->ns; i++)
        if (w->s[i].n && (int64_t)w->s[i].b[w->s[i].n - 1].day + keep_days > day)
            day = (int64_t)w->s[i].b[w->s[i].n - 1].day + keep_days;
    for (size_t i = 0; i < w->ng; i++)
        if ((int64_t)w->g[i].d[w->g[i].n - 1] + keep_days > day)
            day = (int64_t)w->g[i].d[w->g[i].n - 1] + keep_days;
    for (size_t i = 0; i < w->nr; i++) {
        if (w->r[i].open)
            return INT32_MAX;
        if (w->r[i].suppressed && (int64_t)w->r[i].suppressed_until + keep_days - 1 > day)
            day = (int64_t)w->r[i].suppressed_until + keep_days - 1;
        if (w->r[i].raised > 0 && (int64_t)w->r[i].raised_anchor + keep_days > day)
            day = (int64_t)w->r[i].raised_anchor + keep_days;
    }
    return day >= INT32_MAX ? INT32_MAX : (int32_t)day;
}

int32_t tdm_window_floor(const tdm_window *w)
{
    return w->floor;
}

/* ---- amount series ---- */

static void remove_series(tdm_window *w, size_t i)
{
    free(w->s[i].b);
    memmove(&w->s[i], &w->s[i + 1], (w->ns - i - 1) * sizeof(*w->s));
    w->ns--;
}

int tdm_window_add(tdm_window *w, const char *id, int32_t day, int64_t amount)
{
    bool found;
    size_t i, k;
    series *s;
    int r;

    if (!id_ok(id, TDM_WINDOW_SERIES_ID_MAX))
        return -EINVAL;
    if (day <= w->floor)
        return -ERANGE;
    if (amount == 0)
        return 0;
    i = find_series(w->s, w->ns, id, &found);
    if (!found) {
        if (w->ns >= TDM_WINDOW_MAX_SERIES)
            return -ENOSPC;
        r = grow((void **)&w->s, &w->caps, w->ns + 1, sizeof(*w->s));
        if (r < 0)
            return r;
        memmove(&w->s[i + 1], &w->s[i], (w->ns - i) * sizeof(*w->s));
        memset(&w->s[i], 0, sizeof(w->s[i]));
        strcpy(w->s[i].id, id);
        w->ns++;
    }
    s = &w->s[i];
    k = lower_bound(s, day);
    if (k < s->n && s->b[k].day == day) {
        int64_t sum;
        if (__builtin_add_overflow(s->b[k].amount, amount, &sum))
            return -EOVERFLOW;
        if (sum != 0) {
            s->b[k].amount = sum;
            return 0;
        }
        memmove(&s->b[k], &s->b[k + 1], (s->n - k - 1) * sizeof(bucket));
        s->n--;
        if (s->n == 0)
            remove_series(w, i);
        return 0;
    }
    if (s->n >= TDM_WINDOW_MAX_BUCKETS)
        r = -ENOSPC;
    else
        r = grow((void **)&s->b, &s->cap, s->n + 1, sizeof(bucket));
    if (r < 0) {
        if (s->n == 0)
            remove_series(w, i);
        return r;
    }
    memmove(&s->b[k + 1], &s->b[k], (s->n - k) * sizeof(bucket));
    s->b[k].day = day;
    s->b[k].amount = amount;
    s->n++;
    return 0;
}

int tdm_window_sum(const tdm_window *w, const char *id, int32_t end_day, int days,
                   int64_t *ret_sum)
{
    int64_t start = (int64_t)end_day - days; /* exclusive */
    int64_t sum = 0;
    const series *s;
    bool found;
    size_t i;

    if (!id_ok(id, TDM_WINDOW_SERIES_ID_MAX) || days < 1 || days > TDM_WINDOW_MAX_DAYS)
        return -EINVAL;
    if (w->floor != NO_DAY && start < w->floor)
        return -ERANGE;
    i = find_series(w->s, w->ns, id, &found);
    if (found) {
        s = &w->s[i];
        for (size_t k = lower_bound(s, start + 1); k < s->n && s->b[k].day <= end_day; k++)
            if (__builtin_add_overflow(sum, s->b[k].amount, &sum))
                return -EOVERFLOW;
    }
    *ret_sum = sum;
    return 0;
}

int tdm_window_each_sum(const tdm_window *w, const char *id, int32_t day, int days,
                        tdm_window_sum_fn fn, void *arg)
{
    const series *s = NULL;
    bool found;
    size_t lo = 0, hi = 0, i;
    int64_t last = (int64_t)day + days - 1; /* the last end whose window holds day */
    int64_t sum = 0, end = day;

    if (!id_ok(id, TDM_WINDOW_SERIES_ID_MAX) || days < 1 || days > TDM_WINDOW_MAX_DAYS || !fn)
        return -EINVAL;
    i = find_series(w->s, w->ns, id, &found);
    if (found) {
        s = &w->s[i];
        lo = hi = lower_bound(s, end - days + 1);
    }
    /* ends ascending: day, then each bucket day in (day, last]. The sum is
     * of the buckets [lo, hi): end - days < bucket day <= end. */
    for (;;) {
        int64_t start = end - days; /* exclusive */
        if (s) {
            for (; hi < s->n && s->b[hi].day <= end; hi++)
                if (__builtin_add_overflow(sum, s->b[hi].amount, &sum))
                    return -EOVERFLOW;
            for (; lo < hi && s->b[lo].day <= start; lo++)
                if (__builtin_sub_overflow(sum, s->b[lo].amount, &sum))
                    return -EOVERFLOW;
        }
        /* a window reaching into expired days has no exact sum: skipped */
        if ((w->floor == NO_DAY || start >= w->floor) && fn(arg, (int32_t)end, sum))
            return 0;
        if (!s || hi >= s->n || s->b[hi].day > last)
            return 0;
        end = s->b[hi].day;
    }
}

size_t tdm_window_bucket_count(const tdm_window *w, const char *id)
{
    bool found;
    size_t i;

    if (!id_ok(id, TDM_WINDOW_SERIES_ID_MAX))
        return 0;
    i = find_series(w->s, w->ns, id, &found);
    return found ? w->s[i].n : 0;
}

/* ---- signals ---- */

static bool dept_ok(tdm_department d)
{
    return (int)d >= 0 && d < TDM_DEPT_COUNT;
}

static void remove_sig(tdm_window *w, size_t i)
{
    free(w->g[i].d);
    memmove(&w->g[i], &w->g[i + 1], (w->ng - i - 1) * sizeof(*w->g));
    w->ng--;
}

int tdm_window_signal(tdm_window *w, const char *rule_id, tdm_department dept, int32_t day)
{
    bool found;
    size_t i, k;
    sigrule *g;
    int r;

    if (!id_ok(rule_id, TDM_WINDOW_RULE_ID_MAX) || !dept_ok(dept))
        return -EINVAL;
    if (day <= w->floor)
        return -ERANGE;
    i = find_sig(w->g, w->ng, rule_id, &found);
    if (!found) {
        if (w->ng >= TDM_WINDOW_MAX_RULES)
            return -ENOSPC;
        r = grow((void **)&w->g, &w->capg, w->ng + 1, sizeof(*w->g));
        if (r < 0)
            return r;
        memmove(&w->g[i + 1], &w->g[i], (w->ng - i) * sizeof(*w->g));
        memset(&w->g[i], 0, sizeof(w->g[i]));
        strcpy(w->g[i].id, rule_id);
        w->ng++;
    }
    g = &w->g[i];
    g->dept = dept;
    k = day_bound(g->d, g->n, day);
    if (k < g->n && g->d[k] == day)
        return 0;
    if (g->n >= TDM_WINDOW_MAX_SIGNAL_DAYS)
        r = -ENOSPC;
    else
        r = grow((void **)&g->d, &g->cap, g->n + 1, sizeof(int32_t));
    if (r < 0) {
        if (g->n == 0)
            remove_sig(w, i);
        return r;
    }
    memmove(&g->d[k + 1], &g->d[k], (g->n - k) * sizeof(int32_t));
    g->d[k] = day;
    g->n++;
    return 0;
}

size_t tdm_window_signal_days(const tdm_window *w, const char *rule_id, const int32_t **ret_days)
{
    bool found;
    size_t i;

    if (!id_ok(rule_id, TDM_WINDOW_RULE_ID_MAX))
        return 0;
    i = find_sig(w->g, w->ng, rule_id, &found);
    if (!found)
        return 0;
    if (ret_days)
        *ret_days = w->g[i].d;
    return w->g[i].n;
}

int tdm_window_departments_within(const tdm_window *w, int32_t end_day, int days)
{
    bool seen[TDM_DEPT_COUNT] = {false};
    int n = 0;

    if (days < 1 || days > TDM_WINDOW_MAX_DAYS)
        return 0;
    for (size_t i = 0; i < w->ng; i++) {
        const sigrule *g = &w->g[i];
        /* the first day > end_day - days; it counts when < end_day + days */
        size_t k = day_bound(g->d, g->n, (int64_t)end_day - days + 1);
        if (seen[g->dept] || k == g->n || (int64_t)g->d[k] >= (int64_t)end_day + days)
            continue;
        seen[g->dept] = true;
        n++;
    }
    return n;
}

/* ---- alerts ---- */

tdm_may tdm_window_may_alert(const tdm_window *w, const char *rule_id, int32_t day,
                             tdm_severity severity)
{
    const rule_state *r;
    bool found;
    size_t i;

    if (!id_ok(rule_id, TDM_WINDOW_RULE_ID_MAX) || !sev_ok(severity))
        return TDM_MAY_NOT_OPEN;
    i = find_rule(w->r, w->nr, rule_id, &found);
    if (!found)
        return TDM_MAY_RAISE;
    r = &w->r[i];
    if (r->open)
        return TDM_MAY_NOT_OPEN;
    if (r->suppressed && day < r->suppressed_until &&
        RANK(severity) <= RANK(r->suppressed_severity))
        return TDM_MAY_NOT_DISMISSED;
    return TDM_MAY_RAISE;
}

static rule_state *rule_by_alert(tdm_window *w, const char *alert_id)
{
    if (!alert_id)
        return NULL;
    for (size_t i = 0; i < w->nr; i++)
        if (w->r[i].open && strcmp(w->r[i].alert.alert_id, alert_id) == 0)
            return &w->r[i];
    return NULL;
}

int tdm_window_open_alert(tdm_window *w, const char *rule_id, const tdm_open_alert *a)
{
    rule_state *other;
    bool found;
    size_t i;
    int r;

    if (!id_ok(rule_id, TDM_WINDOW_RULE_ID_MAX) || !a || !alert_ok(a))
        return -EINVAL;
    other = rule_by_alert(w, a->alert_id);
    if (other && strcmp(other->id, rule_id) != 0)
        return -EEXIST;
    i = find_rule(w->r, w->nr, rule_id, &found);
    if (!found) {
        if (w->nr >= TDM_WINDOW_MAX_RULES)
            return -ENOSPC;
        r = grow((void **)&w->r, &w->capr, w->nr + 1, sizeof(*w->r));
        if (r < 0)
            return r;
        memmove(&w->r[i + 1], &w->r[i], (w->nr - i) * sizeof(*w->r));
        memset(&w->r[i], 0, sizeof(w->r[i]));
        strcpy(w->r[i].id, rule_id);
        w->nr++;
    }
    w->r[i].open = true;
    /* copy field by field so that the bytes after each NUL stay zero */
    memset(&w->r[i].alert, 0, sizeof(w->r[i].alert));
    strcpy(w->r[i].alert.alert_id, a->alert_id);
    w->r[i].alert.raised_day = a->raised_day;
    w->r[i].alert.anchor_day = a->anchor_day;
    w->r[i].alert.severity = a->severity;
    w->r[i].alert.visit_due_day = a->visit_due_day;
    w->r[i].alert.procedure_due_day = a->procedure_due_day;
    w->r[i].alert.overdue_warned = a->overdue_warned;
    strcpy(w->r[i].alert.village_code, a->village_code);
    return 0;
}

const tdm_open_alert *tdm_window_find_open(const tdm_window *w, const char *rule_id)
{
    bool found;
    size_t i;

    if (!id_ok(rule_id, TDM_WINDOW_RULE_ID_MAX))
        return NULL;
    i = find_rule(w->r, w->nr, rule_id, &found);
    return found && w->r[i].open ? &w->r[i].alert : NULL;
}

const tdm_open_alert *tdm_window_find_alert(const tdm_window *w, const char *alert_id,
                                            const char **ret_rule_id)
{
    rule_state *r = rule_by_alert((tdm_window *)w, alert_id);

    if (!r)
        return NULL;
    if (ret_rule_id)
        *ret_rule_id = r->id;
    return &r->alert;
}

const tdm_open_alert *tdm_window_open_at(const tdm_window *w, size_t i, const char **ret_rule_id)
{
    for (size_t k = 0; k < w->nr; k++) {
        if (!w->r[k].open)
            continue;
        if (i-- == 0) {
            if (ret_rule_id)
                *ret_rule_id = w->r[k].id;
            return &w->r[k].alert;
        }
    }
    return NULL;
}

/* A rule's entry is kept while it holds anything: an open alert, a
 * suppression or a count of raised window alerts. */
static bool rule_holds(const rule_state *r)
{
    return r->open || r->suppressed || r->raised > 0;
}

static void remove_rule(tdm_window *w, rule_state *r)
{
    size_t i = (size_t)(r - w->r);

    memmove(&w->r[i], &w->r[i + 1], (w->nr - i - 1) * sizeof(*w->r));
    w->nr--;
}

int tdm_window_close_alert(tdm_window *w, const char *alert_id, int32_t day, int suppress_days)
{
    rule_state *r;

    if (suppress_days < 0 || suppress_days > TDM_WINDOW_MAX_DAYS)
        return -EINVAL;
    r = rule_by_alert(w, alert_id);
    if (!r)
        return -ENOENT;
    if (suppress_days > 0) {
        int64_t until = (int64_t)day + suppress_days;
        r->suppressed = true;
        r->suppressed_until = until > INT32_MAX ? INT32_MAX : (int32_t)until;
        r->suppressed_severity = r->alert.severity;
    }
    r->open = false;
    memset(&r->alert, 0, sizeof(r->alert));
    if (r->raised > 0 && r->raised_anchor <= w->floor) { /* as tdm_window_expire */
        r->raised = 0;
        r->raised_anchor = 0;
    }
    if (!rule_holds(r))
        remove_rule(w, r);
    return 0;
}

uint32_t tdm_window_raised(const tdm_window *w, const char *rule_id)
{
    bool found;
    size_t i;

    if (!id_ok(rule_id, TDM_WINDOW_RULE_ID_MAX))
        return 0;
    i = find_rule(w->r, w->nr, rule_id, &found);
    return found ? w->r[i].raised : 0;
}

int tdm_window_count_raised(tdm_window *w, const char *rule_id, int32_t anchor_day)
{
    rule_state *rs;
    bool found;
    size_t i;
    int r;

    if (!id_ok(rule_id, TDM_WINDOW_RULE_ID_MAX))
        return -EINVAL;
    if (anchor_day <= w->floor)
        return -ERANGE;
    i = find_rule(w->r, w->nr, rule_id, &found);
    if (!found) {
        if (w->nr >= TDM_WINDOW_MAX_RULES)
            return -ENOSPC;
        r = grow((void **)&w->r, &w->capr, w->nr + 1, sizeof(*w->r));
        if (r < 0)
            return r;
        memmove(&w->r[i + 1], &w->r[i], (w->nr - i) * sizeof(*w->r));
        memset(&w->r[i], 0, sizeof(w->r[i]));
        strcpy(w->r[i].id, rule_id);
        w->nr++;
    }
    rs = &w->r[i];
    if (rs->raised == UINT32_MAX)
        return -EOVERFLOW;
    if (rs->raised == 0 || anchor_day > rs->raised_anchor)
        rs->raised_anchor = anchor_day;
    rs->raised++;
    return 0;
}

int tdm_window_escalate(tdm_window *w, const char *alert_id, tdm_severity severity)
{
    rule_state *r;

    if (!sev_ok(severity))
        return -EINVAL;
    r = rule_by_alert(w, alert_id);
    if (!r)
        return -ENOENT;
    if (RANK(severity) <= RANK(r->alert.severity))
        return 0;
    r->alert.severity = severity;
    return 1;
}

int tdm_window_mark_overdue_warned(tdm_window *w, const char *alert_id)
{
    rule_state *r = rule_by_alert(w, alert_id);

    if (!r)
        return -ENOENT;
    r->alert.overdue_warned = true;
    return 0;
}

/* ---- expiry ---- */

int tdm_window_expire(tdm_window *w, int32_t today, int keep_days)
{
    int64_t f;

    if (keep_days < 1 || keep_days > TDM_WINDOW_MAX_DAYS)
        return -EINVAL;
    f = (int64_t)today - keep_days;
    if (f <= INT32_MIN || f <= w->floor)
        return 0;
    w->floor = (int32_t)f;
    for (size_t i = w->ns; i-- > 0;) {
        series *s = &w->s[i];
        size_t k = lower_bound(s, (int64_t)w->floor + 1);
        if (k) {
            memmove(&s->b[0], &s->b[k], (s->n - k) * sizeof(bucket));
            s->n -= k;
        }
        if (s->n == 0)
            remove_series(w, i);
    }
    for (size_t i = w->ng; i-- > 0;) {
        sigrule *g = &w->g[i];
        size_t k = day_bound(g->d, g->n, (int64_t)w->floor + 1);
        if (k) {
            memmove(&g->d[0], &g->d[k], (g->n - k) * sizeof(int32_t));
            g->n -= k;
        }
        if (g->n == 0)
            remove_sig(w, i);
    }
    /* A suppression ending by floor + 1 no longer stops any record the
     * window still accepts (day > floor). */
    for (size_t i = w->nr; i-- > 0;) {
        rule_state *r = &w->r[i];
        if (r->suppressed && (int64_t)r->suppressed_until <= (int64_t)w->floor + 1) {
            r->suppressed = false;
            r->suppressed_until = 0;
            r->suppressed_severity = TDM_SEVERITY_LOW;
        }
        /* no crossing can come on a day <= floor any more: a new alert's
         * (anchor, count 0) differs from every counted one's */
        if (!r->open && r->raised > 0 && r->raised_anchor <= w->floor) {
            r->raised = 0;
            r->raised_anchor = 0;
        }
        if (!rule_holds(r))
            remove_rule(w, r);
    }
    return 0;
}

/* ---- bytes ---- */

#define RULE_FLAG_OPEN 1u
#define RULE_FLAG_WARNED 2u
#define RULE_FLAG_SUPPRESSED 4u
/* fixed part of a rule after its id: flags, alert id length */
#define RULE_FIXED (1 + 1 + 4 + 4 + 1 + 4 + 4 + 1 + 4 + 1 + 4 + 4)

size_t tdm_window_encoded_size(const tdm_window *w)
{
    size_t n = 1 + 4 + 2 + 2 + 2;

    for (size_t i = 0; i < w->ng; i++)
        n += 1 + strlen(w->g[i].id) + 1 + 4 + w->g[i].n * 4;

    for (size_t i = 0; i < w->ns; i++)
        n += 1 + strlen(w->s[i].id) + 4 + w->s[i].n * 12;
    for (size_t i = 0; i < w->nr; i++) {
        const rule_state *r = &w->r[i];
        n += 1 + strlen(r->id) + RULE_FIXED;
        if (r->open)
            n += strlen(r->alert.alert_id) + strlen(r->alert.village_code);
    }
    return n;
}

typedef struct wbuf {
    uint8_t *p;
} wbuf;

static void put_u8(wbuf *b, unsigned v)
{
    *b->p++ = (uint8_t)v;
}

static void put_u16(wbuf *b, uint32_t v)
{
    put_u8(b, v & 0xff);
    put_u8(b, (v >> 8) & 0xff);
}

static void put_u32(wbuf *b, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        put_u8(b, (v >> (8 * i)) & 0xff);
}

static void put_i32(wbuf *b, int32_t v)
{
    put_u32(b, (uint32_t)v);
}

static void put_i64(wbuf *b, int64_t v)
{
    uint64_t u = (uint64_t)v;
    for (int i = 0; i < 8; i++)
        put_u8(b, (unsigned)((u >> (8 * i)) & 0xff));
}

static void put_str(wbuf *b, const char *s)
{
    size_t n = strlen(s);
    put_u8(b, (unsigned)n);
    memcpy(b->p, s, n);
    b->p += n;
}

int tdm_window_encode(const tdm_window *w, void *buf, size_t size)
{
    wbuf b = {buf};

    if (size < tdm_window_encoded_size(w))
        return -ENOSPC;
    put_u8(&b, TDM_WINDOW_FORMAT);
    put_i32(&b, w->floor);
    put_u16(&b, (uint32_t)w->ng);
    for (size_t i = 0; i < w->ng; i++) {
        put_str(&b, w->g[i].id);
        put_u8(&b, (unsigned)w->g[i].dept);
        put_u32(&b, (uint32_t)w->g[i].n);
        for (size_t k = 0; k < w->g[i].n; k++)
            put_i32(&b, w->g[i].d[k]);
    }
    put_u16(&b, (uint32_t)w->ns);
    for (size_t i = 0; i < w->ns; i++) {
        put_str(&b, w->s[i].id);
        put_u32(&b, (uint32_t)w->s[i].n);
        for (size_t k = 0; k < w->s[i].n; k++) {
            put_i32(&b, w->s[i].b[k].day);
            put_i64(&b, w->s[i].b[k].amount);
        }
    }
    put_u16(&b, (uint32_t)w->nr);
    for (size_t i = 0; i < w->nr; i++) {
        const rule_state *r = &w->r[i];
        unsigned flags = (r->open ? RULE_FLAG_OPEN : 0) |
                         (r->open && r->alert.overdue_warned ? RULE_FLAG_WARNED : 0) |
                         (r->suppressed ? RULE_FLAG_SUPPRESSED : 0);
        put_str(&b, r->id);
        put_u8(&b, flags);
        put_str(&b, r->open ? r->alert.alert_id : "");
        put_i32(&b, r->open ? r->alert.raised_day : 0);
        put_i32(&b, r->open ? r->alert.anchor_day : 0);
        put_u8(&b, r->open ? (unsigned)RANK(r->alert.severity) : 0);
        put_i32(&b, r->open ? r->alert.visit_due_day : 0);
        put_i32(&b, r->open ? r->alert.procedure_due_day : 0);
        put_str(&b, r->open ? r->alert.village_code : "");
        put_i32(&b, r->suppressed ? r->suppressed_until : 0);
        put_u8(&b, r->suppressed ? (unsigned)RANK(r->suppressed_severity) : 0);
        put_u32(&b, r->raised);
        put_i32(&b, r->raised ? r->raised_anchor : 0);
    }
    return 0;
}

typedef struct rbuf {
    const uint8_t *p, *end;
    bool short_read;
} rbuf;

static bool need(rbuf *b, size_t n)
{
    if ((size_t)(b->end - b->p) < n) {
        b->short_read = true;
        b->p = b->end;
        return false;
    }
    return true;
}

static unsigned get_u8(rbuf *b)
{
    if (!need(b, 1))
        return 0;
    return *b->p++;
}

static uint32_t get_u16(rbuf *b)
{
    uint32_t lo = get_u8(b);
    return lo | ((uint32_t)get_u8(b) << 8);
}

static uint32_t get_u32(rbuf *b)
{
    uint32_t v = 0;
    if (!need(b, 4))
        return 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)(*b->p++) << (8 * i);
    return v;
}

static int32_t get_i32(rbuf *b)
{
    uint32_t u = get_u32(b);
    int32_t v;
    memcpy(&v, &u, sizeof(v));
    return v;
}

static int64_t get_i64(rbuf *b)
{
    uint64_t u = 0;
    int64_t v;
    if (!need(b, 8))
        return 0;
    for (int i = 0; i < 8; i++)
        u |= (uint64_t)(*b->p++) << (8 * i);
    memcpy(&v, &u, sizeof(v));
    return v;
}

/* A length-prefixed string of at most max bytes, without NUL bytes, into out
 * (max + 1 bytes). */
static bool get_str(rbuf *b, char *out, size_t max)
{
    size_t n = get_u8(b);
    if (b->short_read || n > max || !need(b, n) || memchr(b->p, 0, n))
        return false;
    memcpy(out, b->p, n);
    out[n] = '\0';
    b->p += n;
    return true;
}

#define BAD(...)                                      \
    do {                                              \
        r = td_error_set(err, -EINVAL, __VA_ARGS__);  \
        goto fail;                                    \
    } while (0)

int tdm_window_decode(const void *buf, size_t len, tdm_window **ret, td_error *err)
{
    rbuf b = {buf, (const uint8_t *)buf + len, false};
    tdm_window *w = NULL;
    unsigned ver;
    uint32_t ng, ns, nr;
    int r;

    if (!buf && len)
        return td_error_set(err, -EINVAL, "window state: no buffer");
    if (len == 0)
        return td_error_set(err, -EINVAL, "window state: empty");
    ver = get_u8(&b);
    if (ver != TDM_WINDOW_FORMAT)
        return td_error_set(err, -ENOTSUP, "window state: format %u, expected %u", ver,
                            TDM_WINDOW_FORMAT);
    w = tdm_window_new();
    if (!w)
        return td_error_set(err, -ENOMEM, "window state: out of memory");
    w->floor = get_i32(&b);
    ng = get_u16(&b);
    if (b.short_read)
        BAD("window state: truncated header");
    if (ng > TDM_WINDOW_MAX_RULES)
        BAD("window state: %u signalling rules (at most %d)", ng, TDM_WINDOW_MAX_RULES);
    if (ng) {
        w->g = calloc(ng, sizeof(*w->g));
        if (!w->g) {
            r = td_error_set(err, -ENOMEM, "window state: out of memory");
            goto fail;
        }
        w->capg = ng;
    }
    for (uint32_t i = 0; i < ng; i++) {
        sigrule *g = &w->g[i];
        uint32_t nd;
        unsigned dept;
        w->ng = i + 1;
        if (!get_str(&b, g->id, TDM_WINDOW_RULE_ID_MAX) || !id_ok(g->id, TDM_WINDOW_RULE_ID_MAX))
            BAD("window state: signal %u: bad or truncated rule id", i);
        if (i > 0 && strcmp(w->g[i - 1].id, g->id) >= 0)
            BAD("window state: signals of rule '%s' out of order or repeated", g->id);
        dept = get_u8(&b);
        nd = get_u32(&b);
        if (b.short_read)
            BAD("window state: signals of rule '%s': truncated", g->id);
        if (dept >= TDM_DEPT_COUNT)
            BAD("window state: signals of rule '%s': bad department %u", g->id, dept);
        g->dept = (tdm_department)dept;
        if (nd == 0 || nd > TDM_WINDOW_MAX_SIGNAL_DAYS || (size_t)(b.end - b.p) / 4 < nd)
            BAD("window state: signals of rule '%s': bad day count %u", g->id, nd);
        g->d = malloc(nd * sizeof(int32_t));
        if (!g->d) {
            r = td_error_set(err, -ENOMEM, "window state: out of memory");
            goto fail;
        }
        g->cap = nd;
        for (uint32_t k = 0; k < nd; k++) {
            g->d[k] = get_i32(&b);
            g->n = k + 1;
            if (g->d[k] <= w->floor)
                BAD("window state: signals of rule '%s': day %d at or below the floor", g->id,
                    g->d[k]);
            if (k > 0 && g->d[k - 1] >= g->d[k])
                BAD("window state: signals of rule '%s': days out of order", g->id);
        }
    }
    ns = get_u16(&b);
    if (b.short_read)
        BAD("window state: truncated header");
    if (ns > TDM_WINDOW_MAX_SERIES)
        BAD("window state: %u series (at most %d)", ns, TDM_WINDOW_MAX_SERIES);
    if (ns) {
        w->s = calloc(ns, sizeof(*w->s));
        if (!w->s) {
            r = td_error_set(err, -ENOMEM, "window state: out of memory");
            goto fail;
        }
        w->caps = ns;
    }
    for (uint32_t i = 0; i < ns; i++) {
        series *s = &w->s[i];
        uint32_t nb;
        w->ns = i + 1;
        if (!get_str(&b, s->id, TDM_WINDOW_SERIES_ID_MAX))
            BAD("window state: series %u: bad or truncated id", i);
        if (!id_ok(s->id, TDM_WINDOW_SERIES_ID_MAX))
            BAD("window state: series %u: id not printable ASCII", i);
        if (i > 0 && strcmp(w->s[i - 1].id, s->id) >= 0)
            BAD("window state: series '%s' out of order or repeated", s->id);
        nb = get_u32(&b);
        if (b.short_read)
            BAD("window state: series '%s': truncated", s->id);
        if (nb == 0 || nb > TDM_WINDOW_MAX_BUCKETS || (size_t)(b.end - b.p) / 12 < nb)
            BAD("window state: series '%s': bad bucket count %u", s->id, nb);
        s->b = malloc(nb * sizeof(bucket));
        if (!s->b) {
            r = td_error_set(err, -ENOMEM, "window state: out of memory");
            goto fail;
        }
        s->cap = nb;
        for (uint32_t k = 0; k < nb; k++) {
            s->b[k].day = get_i32(&b);
            s->b[k].amount = get_i64(&b);
            s->n = k + 1;
            if (s->b[k].day <= w->floor)
                BAD("window state: series '%s': day %d at or below the floor", s->id,
                    s->b[k].day);
            if (k > 0 && s->b[k - 1].day >= s->b[k].day)
                BAD("window state: series '%s': days out of order", s->id);
            if (s->b[k].amount == 0)
                BAD("window state: series '%s': zero bucket", s->id);
        }
    }
    nr = get_u16(&b);
    if (b.short_read)
        BAD("window state: truncated before the rules");
    if (nr > TDM_WINDOW_MAX_RULES)
        BAD("window state: %u rules (at most %d)", nr, TDM_WINDOW_MAX_RULES);
    if (nr) {
        w->r = calloc(nr, sizeof(*w->r));
        if (!w->r) {
            r = td_error_set(err, -ENOMEM, "window state: out of memory");
            goto fail;
        }
        w->capr = nr;
    }
    for (uint32_t i = 0; i < nr; i++) {
        rule_state *rs = &w->r[i];
        tdm_open_alert *a = &rs->alert;
        unsigned flags, sev, ssev;
        int32_t until;

        w->nr = i + 1;
        if (!get_str(&b, rs->id, TDM_WINDOW_RULE_ID_MAX) || !id_ok(rs->id, TDM_WINDOW_RULE_ID_MAX))
            BAD("window state: rule %u: bad or truncated id", i);
        if (i > 0 && strcmp(w->r[i - 1].id, rs->id) >= 0)
            BAD("window state: rule '%s' out of order or repeated", rs->id);
        flags = get_u8(&b);
        if (!get_str(&b, a->alert_id, TDM_ALERT_ID_MAX))
            BAD("window state: rule '%s': bad or truncated alert id", rs->id);
        a->raised_day = get_i32(&b);
        a->anchor_day = get_i32(&b);
        sev = get_u8(&b);
        a->visit_due_day = get_i32(&b);
        a->procedure_due_day = get_i32(&b);
        if (!get_str(&b, a->village_code, TDM_VILLAGE_CODE_LEN))
            BAD("window state: rule '%s': bad or truncated village", rs->id);
        until = get_i32(&b);
        ssev = get_u8(&b);
        rs->raised = get_u32(&b);
        rs->raised_anchor = get_i32(&b);
        if (b.short_read)
            BAD("window state: rule '%s': truncated", rs->id);
        if (flags & ~(RULE_FLAG_OPEN | RULE_FLAG_WARNED | RULE_FLAG_SUPPRESSED))
            BAD("window state: rule '%s': unknown flags 0x%x", rs->id, flags);
        if (!(flags & (RULE_FLAG_OPEN | RULE_FLAG_SUPPRESSED)) && rs->raised == 0)
            BAD("window state: rule '%s': neither open nor suppressed nor counted", rs->id);
        if (rs->raised == 0 && rs->raised_anchor != 0)
            BAD("window state: rule '%s': anchor of no raised alert", rs->id);

        rs->open = flags & RULE_FLAG_OPEN;
        a->overdue_warned = flags & RULE_FLAG_WARNED;
        if (rs->open) {
            if (!sev_from_rank(sev, &a->severity) || !alert_ok(a))
                BAD("window state: rule '%s': bad open alert", rs->id);
        } else if (a->alert_id[0] || a->raised_day || a->anchor_day || sev || a->visit_due_day ||
                   a->procedure_due_day || a->village_code[0] || a->overdue_warned) {
            BAD("window state: rule '%s': fields of a closed alert not zero", rs->id);
        }
        rs->suppressed = flags & RULE_FLAG_SUPPRESSED;
        if (rs->suppressed) {
            if (!sev_from_rank(ssev, &rs->suppressed_severity))
                BAD("window state: rule '%s': bad suppressed severity %u", rs->id, ssev);
            rs->suppressed_until = until;
        } else if (until || ssev) {
            BAD("window state: rule '%s': suppression fields not zero", rs->id);
        }
    }
    for (uint32_t i = 0; i < nr; i++)
        for (uint32_t k = i + 1; k < nr; k++)
            if (w->r[i].open && w->r[k].open &&
                strcmp(w->r[i].alert.alert_id, w->r[k].alert.alert_id) == 0)
                BAD("window state: alert id repeated (rules '%s' and '%s')", w->r[i].id,
                    w->r[k].id);
    if (b.p != b.end)
        BAD("window state: %zu trailing bytes", (size_t)(b.end - b.p));
    *ret = w;
    return 0;
fail:
    tdm_window_free(w);
    return r;
}
