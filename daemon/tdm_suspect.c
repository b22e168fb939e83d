/* tdm_suspect: the suspicious-data list of tuodi-matchd. See tdm_suspect.h.
 *
 * The state holds four sorted arrays, so that equal states encode to equal
 * bytes whatever the order of the inputs that made them:
 *   facts     by (person key, kind): the latest department record of each
 *             kind per person, by (event date, topic, partition, offset);
 *   years     civil-affairs transfers per calendar year (the latest two);
 *   open      by (rule id, person key or ""): the RAISED message as sent,
 *             and the anchor (the record its id and closure rest on);
 *   closed    by (rule id, person key, anchor): DEPARTMENT_DATA_WRONG marks.
 */
#include "tdm_suspect.h"

#include "td_date.h"
#include "td_money.h"
#include "tdm_value.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Limits: decode refuses more; the mutators return -ENOSPC. */
#define MAX_FACTS 4096
#define MAX_OPEN 1024
#define MAX_CLOSED 1024
#define MAX_YEARS 2
#define MAX_STR 65535u


enum fact_kind {
    FACT_DEATH = 1,         /* DEATH_REGISTERED; value 1 */
    FACT_DISABILITY,        /* DISABILITY_CERTIFIED; value the grade 1..4 */
    FACT_DIBAO,             /* value 1 approved, 0 cancelled */
    FACT_TEKUN,             /* value 1 approved, 0 cancelled */
    FACT_JOB,               /* public-welfare job: 1 started, 0 ended */
};
#define FACT_KIND_MAX FACT_JOB

typedef struct fact {
    char *person_key;
    int kind;
    int32_t date;
    int value;
    tdm_evidence ev;        /* the record (owned) */
} fact;

typedef struct year_sum {
    int32_t year;
    int64_t sum_fen;
    tdm_evidence latest;    /* the latest record of the year (owned) */
} year_sum;

/* The record a suspect's id and closure rest on: a department record's
 * coordinates, or for roster-only indicators ("" topic) the roster
 * record's updated_at as offset. */
typedef struct anchor {
    char *topic;
    int32_t partition;
    int64_t offset;
} anchor;

typedef struct open_suspect {
    tdm_suspect_out m;      /* kind RAISED, as sent */
    anchor a;
} open_suspect;

typedef struct closed_mark {
    char *rule_id;
    char *person_key;       /* "" for household-level */
    anchor a;
} closed_mark;

struct tdm_suspects {
    fact *f;
    size_t nf, capf;
    year_sum y[MAX_YEARS];
    size_t ny;
    open_suspect *o;
    size_t no, capo;
    closed_mark *c;
    size_t nc, capc;
};

/* ---- small helpers ---- */

static const char *nz(const char *s)
{
    return s ? s : "";
}

static int grow(void **v, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap * 2 : 4;
    while (n < need)
        n *= 2;
    void *p = realloc(*v, n * elem);
    if (!p)
        return -ENOMEM;
    *v = p;
    *cap = n;
    return 0;
}

/* Order of two records: (event date, topic, partition, offset). */
static int record_cmp(int32_t da, const tdm_evidence *a, int32_t db, const tdm_evidence *b)
{
    if (da != db)
        return da < db ? -1 : 1;
    int c = strcmp(nz(a->topic), nz(b->topic));
    if (c)
        return c < 0 ? -1 : 1;
    if (a->partition != b->partition)
        return a->partition < b->partition ? -1 : 1;
    if (a->offset != b->offset)
        return a->offset < b->offset ? -1 : 1;
    return 0;
}

static int anchor_cmp(const anchor *a, const anchor *b)
{
    int c = strcmp(nz(a->topic), nz(b->topic));
    if (c)
        return c < 0 ? -1 : 1;
    if (a->partition != b->partition)
        return a->partition < b->partition ? -1 : 1;
    if (a->offset != b->offset)
        return a->offset < b->offset ? -1 : 1;
    return 0;
}

static void out_done(tdm_suspect_out *m)
{
    free(m->indicator_id);
    free(m->indicator_version);
    free(m->indicator_name);
    free(m->fix_hint);
    free(m->household_id);
    free(m->grid_id);
    free(m->head_name);
    free(m->person_key);
    free(m->person_name);
    free(m->roster_value);
    free(m->department_value);
    for (size_t i = 0; i < m->n_evidence; i++)
        tdm_evidence_done(&m->evidence[i]);
    if (m->has_resolution)
        tdm_evidence_done(&m->resolved_by);
    free(m->closure.reason);
    free(m->closure.outcome_id);
    memset(m, 0, sizeof(*m));
}

/* A deep copy of src into dst (zeroed or freed before). */
static int out_copy(tdm_suspect_out *dst, const tdm_suspect_out *src)
{
    bool oom = false;
    *dst = *src;
    dst->indicator_id = tdm_value_dup(src->indicator_id, &oom);
    dst->indicator_version = tdm_value_dup(src->indicator_version, &oom);
    dst->indicator_name = tdm_value_dup(src->indicator_name, &oom);
    dst->fix_hint = tdm_value_dup(src->fix_hint, &oom);
    dst->household_id = tdm_value_dup(src->household_id, &oom);
    dst->grid_id = tdm_value_dup(src->grid_id, &oom);
    dst->head_name = tdm_value_dup(src->head_name, &oom);
    dst->person_key = tdm_value_dup(src->person_key, &oom);
    dst->person_name = tdm_value_dup(src->person_name, &oom);
    dst->roster_value = tdm_value_dup(src->roster_value, &oom);
    dst->department_value = tdm_value_dup(src->department_value, &oom);
    for (size_t i = 0; i < src->n_evidence; i++)
        if (tdm_evidence_copy(&dst->evidence[i], &src->evidence[i]) < 0)
            oom = true;
    if (src->has_resolution && tdm_evidence_copy(&dst->resolved_by, &src->resolved_by) < 0)
        oom = true;
    dst->closure.reason = tdm_value_dup(src->closure.reason, &oom);
    dst->closure.outcome_id = tdm_value_dup(src->closure.outcome_id, &oom);
    return oom ? -ENOMEM : 0;
}

/* ---- the list ---- */

static void list_truncate(tdm_suspect_list *l, size_t n)
{
    while (l->n > n)
        out_done(&l->v[--l->n]);
}

void tdm_suspect_list_reset(tdm_suspect_list *l)
{
    if (l)
        list_truncate(l, 0);
}

void tdm_suspect_list_done(tdm_suspect_list *l)
{
    if (!l)
        return;
    list_truncate(l, 0);
    free(l->v);
    l->v = NULL;
    l->cap = 0;
}

static tdm_suspect_out *list_push(tdm_suspect_list *l)
{
    if (grow((void **)&l->v, &l->cap, l->n + 1, sizeof(*l->v)) < 0)
        return NULL;
    tdm_suspect_out *m = &l->v[l->n++];
    memset(m, 0, sizeof(*m));
    return m;
}

/* ---- the state ---- */

tdm_suspects *tdm_suspects_new(void)
{
    return calloc(1, sizeof(tdm_suspects));
}

static void fact_done(fact *f)
{
    free(f->person_key);
    tdm_evidence_done(&f->ev);
}

static void mark_done(closed_mark *c)
{
    free(c->rule_id);
    free(c->person_key);
    free(c->a.topic);
}

static void open_done(open_suspect *o)
{
    out_done(&o->m);
    free(o->a.topic);
}

tdm_suspects *tdm_suspects_free(tdm_suspects *s)
{
    if (!s)
        return NULL;
    for (size_t i = 0; i < s->nf; i++)
        fact_done(&s->f[i]);
    for (size_t i = 0; i < s->ny; i++)
        tdm_evidence_done(&s->y[i].latest);
    for (size_t i = 0; i < s->no; i++)
        open_done(&s->o[i]);
    for (size_t i = 0; i < s->nc; i++)
        mark_done(&s->c[i]);
    free(s->f);
    free(s->o);
    free(s->c);
    free(s);
    return NULL;
}

bool tdm_suspects_is_empty(const tdm_suspects *s)
{
    return !s || (s->nf == 0 && s->ny == 0 && s->no == 0 && s->nc == 0);
}

size_t tdm_suspects_open_count(const tdm_suspects *s)
{
    return s ? s->no : 0;
}

bool tdm_suspect_id_is(const char *id)
{
    return id && strncmp(id, "sus-", 4) == 0;
}

static int fact_cmp_key(const char *pk, int kind, const fact *f)
{
    int c = strcmp(pk, f->person_key);
    if (c)
        return c < 0 ? -1 : 1;
    return kind < f->kind ? -1 : kind > f->kind;
}

/* Index of (pk, kind), or where it would go (*found false). */
static size_t fact_find(const tdm_suspects *s, const char *pk, int kind, bool *found)
{
    size_t lo = 0, hi = s->nf;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = fact_cmp_key(pk, kind, &s->f[mid]);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    *found = false;
    return lo;
}

static const fact *fact_get(const tdm_suspects *s, const char *pk, int kind)
{
    bool found;
    if (!pk)
        return NULL;
    size_t i = fact_find(s, pk, kind, &found);
    return found ? &s->f[i] : NULL;
}

/* Keeps the fact when it is newer than the one held. 1 changed, 0 not. */
static int fact_put(tdm_suspects *s, const char *pk, int kind, int32_t date, int value,
                    const tdm_evidence *ev)
{
    bool found;
    size_t i = fact_find(s, pk, kind, &found);
    if (found && record_cmp(date, ev, s->f[i].date, &s->f[i].ev) <= 0)
        return 0;
    fact nf = {.kind = kind, .date = date, .value = value};
    nf.person_key = strdup(pk);
    if (!nf.person_key || tdm_evidence_copy(&nf.ev, ev) < 0) {
        fact_done(&nf);
        return -ENOMEM;
    }
    if (found) {
        fact_done(&s->f[i]);
        s->f[i] = nf;
        return 1;
    }
    if (s->nf >= MAX_FACTS || grow((void **)&s->f, &s->capf, s->nf + 1, sizeof(*s->f)) < 0) {
        fact_done(&nf);
        return s->nf >= MAX_FACTS ? -ENOSPC : -ENOMEM;
    }
    memmove(&s->f[i + 1], &s->f[i], (s->nf - i) * sizeof(*s->f));
    s->f[i] = nf;
    s->nf++;
    return 1;
}

/* Adds a transfer of year; 1 changed, 0 (a year already forgotten). */
static int year_add(tdm_suspects *s, int32_t year, int64_t amount, int32_t date,
                    const tdm_evidence *ev)
{
    size_t i;
    for (i = 0; i < s->ny && s->y[i].year < year; i++)
        ;
    if (i < s->ny && s->y[i].year == year) {
        year_sum *y = &s->y[i];
        int64_t sum;
        if (__builtin_add_overflow(y->sum_fen, amount, &sum))
            return -EOVERFLOW;
        if (record_cmp(date, ev, y->latest.event_date, &y->latest) > 0) {
            tdm_evidence e;
            if (tdm_evidence_copy(&e, ev) < 0) {
                tdm_evidence_done(&e);
                return -ENOMEM;
            }
            tdm_evidence_done(&y->latest);
            y->latest = e;
        }
        y->sum_fen = sum;
        return 1;
    }
    if (s->ny == MAX_YEARS && i == 0)
        return 0; /* older than the two kept */
    year_sum ny = {.year = year, .sum_fen = amount};
    if (tdm_evidence_copy(&ny.latest, ev) < 0) {
        tdm_evidence_done(&ny.latest);
        return -ENOMEM;
    }
    if (s->ny == MAX_YEARS) {
        tdm_evidence_done(&s->y[0].latest);
        memmove(&s->y[0], &s->y[1], sizeof(s->y[0]) * (MAX_YEARS - 1));
        s->ny--;
        i--;
    }
    memmove(&s->y[i + 1], &s->y[i], (s->ny - i) * sizeof(s->y[0]));
    s->y[i] = ny;
    s->ny++;
    return 1;
}

static const year_sum *year_get(const tdm_suspects *s, int32_t year)
{
    for (size_t i = 0; i < s->ny; i++)
        if (s->y[i].year == year)
            return &s->y[i];
    return NULL;
}

static int open_cmp_key(const char *rule, const char *pk, const open_suspect *o)
{
    int c = strcmp(rule, o->m.indicator_id);
    if (c)
        return c < 0 ? -1 : 1;
    c = strcmp(nz(pk), nz(o->m.person_key));
    return c < 0 ? -1 : c > 0;
}

static size_t open_find(const tdm_suspects *s, const char *rule, const char *pk, bool *found)
{
    size_t lo = 0, hi = s->no;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = open_cmp_key(rule, pk, &s->o[mid]);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    *found = false;
    return lo;
}

static int mark_cmp(const closed_mark *a, const closed_mark *b)
{
    int c = strcmp(a->rule_id, b->rule_id);
    if (c)
        return c < 0 ? -1 : 1;
    c = strcmp(a->person_key, b->person_key);
    if (c)
        return c < 0 ? -1 : 1;
    return anchor_cmp(&a->a, &b->a);
}

static size_t mark_find(const tdm_suspects *s, const closed_mark *k, bool *found)
{
    size_t lo = 0, hi = s->nc;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = mark_cmp(k, &s->c[mid]);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    *found = false;
    return lo;
}

/* ---- department records ---- */

int tdm_suspects_note_record(tdm_suspects *s, tdm_dataset dataset, const avro_value_t *value,
                             const tdm_coords *coords, bool *ret_changed, td_error *err)
{
    tdm_record rec;
    tdm_evidence ev;
    int kind = 0, val = 0, rc, changed = 0;

    if (ret_changed)
        *ret_changed = false;
    if (!s || !value)
        return td_error_set(err, -EINVAL, "tdm_suspects_note_record: NULL argument");
    if (dataset != TDM_DATASET_CIVIL_AFFAIRS && dataset != TDM_DATASET_HUMAN_RESOURCES)
        return 0;
    rc = tdm_record_read(dataset, value, &rec, err);
    if (rc < 0)
        return rc;
    tdm_record_evidence(&rec, coords, &ev);
    const char *t = rec.event_type;
    if (dataset == TDM_DATASET_CIVIL_AFFAIRS) {
        if (strcmp(t, "DEATH_REGISTERED") == 0) {
            kind = FACT_DEATH;
            val = 1;
        } else if (strcmp(t, "DISABILITY_CERTIFIED") == 0 && rec.disability_grade >= 1) {
            kind = FACT_DISABILITY; /* a certificate without a grade says nothing here */
            val = rec.disability_grade;
        } else if (strcmp(t, "DIBAO_APPROVED") == 0 || strcmp(t, "DIBAO_CANCELLED") == 0) {
            kind = FACT_DIBAO;
            val = strcmp(t, "DIBAO_APPROVED") == 0;
        } else if (strcmp(t, "TEKUN_APPROVED") == 0 || strcmp(t, "TEKUN_CANCELLED") == 0) {
            kind = FACT_TEKUN;
            val = strcmp(t, "TEKUN_APPROVED") == 0;
        }
        if (rec.has_amount && rec.amount_fen != 0) {
            int y, m, d;
            td_date_to_ymd(rec.date, &y, &m, &d);
            rc = year_add(s, y, rec.amount_fen, rec.date, &ev);
            if (rc < 0)
                return td_error_set(err, rc, "civil_affairs record %s: cannot add the transfer",
                                    rec.src_record_id);
            changed |= rc;
        }
    } else {
        if (strcmp(t, "PUBLIC_WELFARE_JOB_STARTED") == 0 ||
            strcmp(t, "PUBLIC_WELFARE_JOB_ENDED") == 0) {
            kind = FACT_JOB;
            val = strcmp(t, "PUBLIC_WELFARE_JOB_STARTED") == 0;
        }
    }
    if (kind) {
        rc = fact_put(s, rec.person_key, kind, rec.date, val, &ev);
        if (rc < 0)
            return td_error_set(err, rc, "%s record %s: cannot keep the fact",
                                tdm_dataset_name(dataset), rec.src_record_id);
        changed |= rc;
    }
    if (ret_changed)
        *ret_changed = changed != 0;
    return 0;
}

/* ---- bytes ---- */

typedef struct wbuf {
    uint8_t *p;             /* NULL: only count */
    size_t n;
} wbuf;

static void put(wbuf *b, const void *p, size_t n)
{
    if (b->p)
        memcpy(b->p + b->n, p, n);
    b->n += n;
}

static void put_u8(wbuf *b, unsigned v)
{
    uint8_t x = (uint8_t)v;
    put(b, &x, 1);
}

static void put_u32(wbuf *b, uint32_t v)
{
    uint8_t x[4];
    for (int i = 0; i < 4; i++)
        x[i] = (uint8_t)(v >> (8 * i));
    put(b, x, 4);
}

static void put_i64(wbuf *b, int64_t v)
{
    uint8_t x[8];
    uint64_t u = (uint64_t)v;
    for (int i = 0; i < 8; i++)
        x[i] = (uint8_t)(u >> (8 * i));
    put(b, x, 8);
}

static void put_i32(wbuf *b, int32_t v)
{
    put_u32(b, (uint32_t)v);
}

/* u16 length and bytes; a longer string is cut at a UTF-8 character
 * boundary (no text of a suspect comes near 64 KiB). */
static void put_str(wbuf *b, const char *s)
{
    size_t n = strlen(nz(s));
    if (n > MAX_STR) {
        n = MAX_STR;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--;
    }
    put_u8(b, n & 0xff);
    put_u8(b, n >> 8);
    put(b, nz(s), n);
}

/* u8 presence, then the string. */
static void put_opt(wbuf *b, const char *s)
{
    put_u8(b, s != NULL);
    if (s)
        put_str(b, s);
}

static void put_evidence(wbuf *b, const tdm_evidence *e)
{
    put_u8(b, (unsigned)e->dataset);
    put_opt(b, e->event_type);
    put_opt(b, e->person_key);
    put_u8(b, e->has_event_date);
    if (e->has_event_date)
        put_i32(b, e->event_date);
    put_u8(b, e->has_amount);
    if (e->has_amount)
        put_i64(b, e->amount_fen);
    put_str(b, e->topic);
    put_i32(b, e->partition);
    put_i64(b, e->offset);
    put_str(b, e->src_department);
    put_str(b, e->src_connector_instance);
    put_str(b, e->src_record_id);
    put_opt(b, e->src_location);
    put_u8(b, e->has_src_row);
    if (e->has_src_row)
        put_i64(b, e->src_row);
}

static void put_anchor(wbuf *b, const anchor *a)
{
    put_str(b, a->topic);
    put_i32(b, a->partition);
    put_i64(b, a->offset);
}

static void put_state(wbuf *b, const tdm_suspects *s)
{
    put_u8(b, TDM_SUSPECTS_FORMAT);
    put_u32(b, (uint32_t)s->nf);
    for (size_t i = 0; i < s->nf; i++) {
        const fact *f = &s->f[i];
        put_str(b, f->person_key);
        put_u8(b, (unsigned)f->kind);
        put_i32(b, f->date);
        put_u8(b, (unsigned)f->value);
        put_evidence(b, &f->ev);
    }
    put_u8(b, (unsigned)s->ny);
    for (size_t i = 0; i < s->ny; i++) {
        put_i32(b, s->y[i].year);
        put_i64(b, s->y[i].sum_fen);
        put_evidence(b, &s->y[i].latest);
    }
    put_u32(b, (uint32_t)s->no);
    for (size_t i = 0; i < s->no; i++) {
        const tdm_suspect_out *m = &s->o[i].m;
        put_str(b, m->suspect_id);
        put_str(b, m->indicator_id);
        put_str(b, m->indicator_version);
        put_str(b, m->indicator_name);
        put_str(b, m->fix_hint);
        put_str(b, m->household_id);
        put_str(b, m->route.routed ? m->route.village_code : "");
        put_opt(b, m->grid_id);
        put_opt(b, m->head_name);
        put_opt(b, m->person_key);
        put_opt(b, m->person_name);
        put_opt(b, m->roster_value);
        put_opt(b, m->department_value);
        put_u8(b, (unsigned)m->n_evidence);
        for (size_t k = 0; k < m->n_evidence; k++)
            put_evidence(b, &m->evidence[k]);
        put_i64(b, m->raised_at);
        put_i32(b, m->fix_due_date);
        put_anchor(b, &s->o[i].a);
    }
    put_u32(b, (uint32_t)s->nc);
    for (size_t i = 0; i < s->nc; i++) {
        put_str(b, s->c[i].rule_id);
        put_str(b, s->c[i].person_key);
        put_anchor(b, &s->c[i].a);
    }
}

size_t tdm_suspects_encoded_size(const tdm_suspects *s)
{
    wbuf b = {NULL, 0};
    put_state(&b, s);
    return b.n;
}

int tdm_suspects_encode(const tdm_suspects *s, void *buf, size_t size)
{
    if (!s || !buf)
        return -EINVAL;
    if (size < tdm_suspects_encoded_size(s))
        return -ENOSPC;
    wbuf b = {buf, 0};
    put_state(&b, s);
    return 0;
}

typedef struct rbuf {
    const uint8_t *p, *end;
    bool bad;
} rbuf;

static bool need(rbuf *b, size_t n)
{
    if (b->bad || (size_t)(b->end - b->p) < n) {
        b->bad = true;
        b->p = b->end;
        return false;
    }
    return true;
}

static unsigned get_u8(rbuf *b)
{
    return need(b, 1) ? *b->p++ : 0;
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

/* A string without NUL bytes, malloc'd (NULL and b->bad on error; *oom). */
static char *get_str(rbuf *b, bool *oom)
{
    size_t n = get_u8(b);
    n |= (size_t)get_u8(b) << 8;
    if (!need(b, n))
        return NULL;
    if (memchr(b->p, 0, n)) {
        b->bad = true;
        return NULL;
    }
    char *s = malloc(n + 1);
    if (!s) {
        *oom = true;
        b->bad = true;
        return NULL;
    }
    memcpy(s, b->p, n);
    s[n] = '\0';
    b->p += n;
    return s;
}

static bool get_flag(rbuf *b)
{
    unsigned v = get_u8(b);
    if (v > 1)
        b->bad = true;
    return v == 1;
}

static char *get_opt(rbuf *b, bool *oom)
{
    return get_flag(b) ? get_str(b, oom) : NULL;
}

static bool dataset_ok(unsigned d)
{
    return d == TDM_DATASET_HOUSEHOLD || d == TDM_DATASET_MEDICAL_INSURANCE ||
           d == TDM_DATASET_CIVIL_AFFAIRS || d == TDM_DATASET_HUMAN_RESOURCES;
}

static void get_evidence(rbuf *b, tdm_evidence *e, bool *oom)
{
    memset(e, 0, sizeof(*e));
    unsigned d = get_u8(b);
    if (!dataset_ok(d))
        b->bad = true;
    e->dataset = (tdm_dataset)d;
    e->event_type = get_opt(b, oom);
    e->person_key = get_opt(b, oom);
    e->has_event_date = get_flag(b);
    if (e->has_event_date)
        e->event_date = get_i32(b);
    e->has_amount = get_flag(b);
    if (e->has_amount)
        e->amount_fen = get_i64(b);
    e->topic = get_str(b, oom);
    e->partition = get_i32(b);
    e->offset = get_i64(b);
    e->src_department = get_str(b, oom);
    e->src_connector_instance = get_str(b, oom);
    e->src_record_id = get_str(b, oom);
    e->src_location = get_opt(b, oom);
    e->has_src_row = get_flag(b);
    if (e->has_src_row)
        e->src_row = get_i64(b);
}

static void get_anchor(rbuf *b, anchor *a, bool *oom)
{
    a->topic = get_str(b, oom);
    a->partition = get_i32(b);
    a->offset = get_i64(b);
}

static int suspect_route(const char *village, const char *id, tdm_route *ret);

int tdm_suspects_decode(const void *buf, size_t len, tdm_suspects **ret, td_error *err)
{
    rbuf b = {buf, (const uint8_t *)buf + len, false};
    bool oom = false;
    const char *why = NULL;
    tdm_suspects *s;

    if (!buf || !ret)
        return td_error_set(err, -EINVAL, "suspects: NULL argument");
    if (len == 0)
        return td_error_set(err, -EINVAL, "suspects: empty");
    if (((const uint8_t *)buf)[0] != TDM_SUSPECTS_FORMAT)
        return td_error_set(err, -ENOTSUP, "suspects: format %u, this build reads %u",
                            ((const uint8_t *)buf)[0], TDM_SUSPECTS_FORMAT);
    b.p++;
    s = tdm_suspects_new();
    if (!s)
        return td_error_set(err, -ENOMEM, "suspects: out of memory");

    uint32_t nf = get_u32(&b);
    if (nf > MAX_FACTS || (nf && !(s->f = calloc(nf, sizeof(*s->f))))) {
        why = nf > MAX_FACTS ? "too many facts" : NULL;
        oom = nf <= MAX_FACTS;
        goto fail;
    }
    s->capf = nf;
    for (uint32_t i = 0; i < nf && !b.bad; i++) {
        fact *f = &s->f[s->nf++];
        f->person_key = get_str(&b, &oom);
        f->kind = (int)get_u8(&b);
        f->date = get_i32(&b);
        f->value = (int)get_u8(&b);
        get_evidence(&b, &f->ev, &oom);
        if (b.bad)
            break;
        if (!f->person_key[0] || f->kind < FACT_DEATH || f->kind > FACT_KIND_MAX ||
            (f->kind == FACT_DISABILITY ? f->value < 1 || f->value > 4
                                        : f->value > 1 || (f->kind == FACT_DEATH && !f->value))) {
            why = "a bad fact";
            goto fail;
        }
        if (i > 0 && fact_cmp_key(f->person_key, f->kind, &s->f[i - 1]) <= 0) {
            why = "facts out of order";
            goto fail;
        }
    }
    unsigned ny = get_u8(&b);
    if (ny > MAX_YEARS) {
        why = "too many years";
        goto fail;
    }
    for (unsigned i = 0; i < ny && !b.bad; i++) {
        year_sum *y = &s->y[s->ny++];
        y->year = get_i32(&b);
        y->sum_fen = get_i64(&b);
        get_evidence(&b, &y->latest, &oom);
        if (!b.bad && i > 0 && y->year <= s->y[i - 1].year) {
            why = "years out of order";
            goto fail;
        }
    }
    uint32_t no = get_u32(&b);
    if (no > MAX_OPEN || (no && !(s->o = calloc(no, sizeof(*s->o))))) {
        why = no > MAX_OPEN ? "too many open suspects" : NULL;
        oom = no <= MAX_OPEN;
        goto fail;
    }
    s->capo = no;
    for (uint32_t i = 0; i < no && !b.bad; i++) {
        open_suspect *o = &s->o[s->no++];
        tdm_suspect_out *m = &o->m;
        char *id = get_str(&b, &oom), *village;
        m->kind = TDM_SUSPECT_RAISED;
        m->indicator_id = get_str(&b, &oom);
        m->indicator_version = get_str(&b, &oom);
        m->indicator_name = get_str(&b, &oom);
        m->fix_hint = get_str(&b, &oom);
        m->household_id = get_str(&b, &oom);
        village = get_str(&b, &oom);
        m->grid_id = get_opt(&b, &oom);
        m->head_name = get_opt(&b, &oom);
        m->person_key = get_opt(&b, &oom);
        m->person_name = get_opt(&b, &oom);
        m->roster_value = get_opt(&b, &oom);
        m->department_value = get_opt(&b, &oom);
        unsigned ne = get_u8(&b);
        if (ne > TDM_SUSPECT_EVIDENCE_MAX)
            b.bad = true;
        for (unsigned k = 0; k < ne && !b.bad; k++) {
            get_evidence(&b, &m->evidence[k], &oom);
            m->n_evidence++;
        }
        m->raised_at = get_i64(&b);
        m->fix_due_date = get_i32(&b);
        get_anchor(&b, &o->a, &oom);
        bool ok = !b.bad && id && strlen(id) <= TDM_SUSPECT_ID_MAX && tdm_suspect_id_is(id) &&
                  m->indicator_id[0] && m->household_id[0] &&
                  (!village[0] || tdm_alert_village_valid(village)) &&
                  (!m->person_key || m->person_key[0]);
        if (ok) {
            memcpy(m->suspect_id, id, strlen(id) + 1);
            ok = suspect_route(village[0] ? village : NULL, id, &m->route) == 0;
        }
        free(id);
        free(village);
        if (b.bad)
            break;
        if (!ok) {
            why = "a bad open suspect";
            goto fail;
        }
        if (i > 0 && open_cmp_key(m->indicator_id, m->person_key, &s->o[i - 1]) <= 0) {
            why = "open suspects out of order";
            goto fail;
        }
    }
    uint32_t nc = get_u32(&b);
    if (nc > MAX_CLOSED || (nc && !(s->c = calloc(nc, sizeof(*s->c))))) {
        why = nc > MAX_CLOSED ? "too many closure marks" : NULL;
        oom = nc <= MAX_CLOSED;
        goto fail;
    }
    s->capc = nc;
    for (uint32_t i = 0; i < nc && !b.bad; i++) {
        closed_mark *c = &s->c[s->nc++];
        c->rule_id = get_str(&b, &oom);
        c->person_key = get_str(&b, &oom);
        get_anchor(&b, &c->a, &oom);
        if (b.bad)
            break;
        if (!c->rule_id[0] || (i > 0 && mark_cmp(c, &s->c[i - 1]) <= 0)) {
            why = "closure marks out of order";
            goto fail;
        }
    }
    if (oom)
        goto fail;
    if (b.bad) {
        why = "truncated or bad bytes";
        goto fail;
    }
    if (b.p != b.end) {
        why = "trailing bytes";
        goto fail;
    }
    *ret = s;
    return 0;
fail:
    tdm_suspects_free(s);
    if (oom && !why)
        return td_error_set(err, -ENOMEM, "suspects: out of memory");
    return td_error_set(err, -EINVAL, "suspects: %s", why ? why : "truncated or bad bytes");
}

tdm_suspects *tdm_suspects_copy(const tdm_suspects *s)
{
    if (!s)
        return NULL;
    size_t n = tdm_suspects_encoded_size(s);
    uint8_t *buf = malloc(n);
    tdm_suspects *c = NULL;
    td_error err = {0};
    if (buf && tdm_suspects_encode(s, buf, n) == 0)
        tdm_suspects_decode(buf, n, &c, &err);
    free(buf);
    return c;
}

bool tdm_suspects_equal(const tdm_suspects *a, const tdm_suspects *b)
{
    if (!a || !b)
        return a == b;
    size_t na = tdm_suspects_encoded_size(a), nb = tdm_suspects_encoded_size(b);
    if (na != nb)
        return false;
    uint8_t *x = malloc(na), *y = malloc(nb);
    bool eq = x && y && tdm_suspects_encode(a, x, na) == 0 && tdm_suspects_encode(b, y, nb) == 0 &&
              memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return eq;
}

/* ---- absorbing a person's facts ---- */

int tdm_suspects_absorb(tdm_suspects *dst, tdm_suspects *src, td_error *err)
{
    if (!dst || !src || dst == src)
        return td_error_set(err, -EINVAL, "tdm_suspects_absorb: bad arguments");
    if (src->nf == 0 && src->ny == 0)
        return 0;
    tdm_suspects *n = tdm_suspects_copy(dst);
    int rc = 0;
    if (!n)
        return td_error_set(err, -ENOMEM, "suspects: out of memory");
    for (size_t i = 0; i < src->nf && rc >= 0; i++) {
        const fact *f = &src->f[i];
        rc = fact_put(n, f->person_key, f->kind, f->date, f->value, &f->ev);
    }
    for (size_t i = 0; i < src->ny && rc >= 0; i++)
        rc = year_add(n, src->y[i].year, src->y[i].sum_fen, src->y[i].latest.event_date,
                      &src->y[i].latest);
    if (rc < 0) {
        tdm_suspects_free(n);
        return td_error_set(err, rc, "suspects: cannot absorb a person's facts");
    }
    /* swap contents: dst gets n's, n (freed) gets dst's old ones */
    tdm_suspects tmp = *dst;
    *dst = *n;
    *n = tmp;
    tdm_suspects_free(n);
    for (size_t i = 0; i < src->nf; i++)
        fact_done(&src->f[i]);
    src->nf = 0;
    for (size_t i = 0; i < src->ny; i++)
        tdm_evidence_done(&src->y[i].latest);
    src->ny = 0;
    return 1;
}

/* ---- words for people (never an identity number or a person key) ---- */

static const char *grade_words(int g)
{
    static const char *const w[] = {"无", "一级", "二级", "三级", "四级"};
    return g >= 0 && g <= 4 ? w[g] : "未知";
}

static const char *labour_words(tdm_r_labour l)
{
    switch (l) {
    case TDM_R_LABOUR_NORMAL:
        return "普通劳动力";
    case TDM_R_LABOUR_SKILLED:
        return "技能劳动力";
    case TDM_R_LABOUR_WEAK:
        return "弱劳动力或半劳动力";
    case TDM_R_LABOUR_LOST:
        return "丧失劳动力";
    case TDM_R_LABOUR_NONE:
        return "无劳动力";
    case TDM_R_LABOUR_UNKNOWN:
        break;
    }
    return "未知";
}

static const char *sex_words(int s)
{
    return s == TDM_SEX_MALE ? "男" : s == TDM_SEX_FEMALE ? "女" : "未知";
}

static const char *allowance_words(tdm_allowance a)
{
    return a == TDM_ALLOWANCE_TEKUN ? "特困供养" : "低保";
}

static tdm_labour labour_bit(tdm_r_labour l)
{
    switch (l) {
    case TDM_R_LABOUR_NORMAL:
        return TDM_LABOUR_NORMAL;
    case TDM_R_LABOUR_SKILLED:
        return TDM_LABOUR_SKILLED;
    case TDM_R_LABOUR_WEAK:
        return TDM_LABOUR_WEAK;
    case TDM_R_LABOUR_LOST:
        return TDM_LABOUR_LOST;
    case TDM_R_LABOUR_NONE:
        return TDM_LABOUR_NONE;
    case TDM_R_LABOUR_UNKNOWN:
        break;
    }
    return TDM_LABOUR_UNKNOWN;
}

static void date_words(int32_t day, char *buf, size_t size)
{
    td_date_format(day, buf, size);
}

/* ---- evaluation ---- */

/* A contradiction found now. Strings and evidence borrowed. */
typedef struct cand {
    size_t rule_index;
    const tdm_suspect_rule *rule;
    const tdm_member *member;       /* NULL: household-level */
    anchor a;
    /* The day the data alone says the contradiction could be raised: the
     * later of the roster's day and the fact's date + grace_days (roster-only
     * indicators: the roster's day). Hashed into the id; raised_at is the
     * later of it and the evaluation's day (raise). */
    int32_t data_day;
    char roster_value[160];
    char department_value[160];
    const tdm_evidence *ev[TDM_SUSPECT_EVIDENCE_MAX];
    size_t n_ev;
    bool roster_evidence;           /* evidence: the roster record */
    bool keep_only;                 /* keeps an open suspect open, never raises */
} cand;

typedef struct cands {
    cand *v;
    size_t n, cap;
} cands;

static cand *cand_push(cands *c)
{
    if (grow((void **)&c->v, &c->cap, c->n + 1, sizeof(*c->v)) < 0)
        return NULL;
    cand *x = &c->v[c->n++];
    memset(x, 0, sizeof(*x));
    return x;
}

/* The later of the roster's day and day + grace (clamped: dates come from
 * outside). */
static int32_t later(int32_t roster_day, int32_t day, int grace)
{
    int64_t d = (int64_t)day + grace;
    if (d > INT32_MAX)
        d = INT32_MAX;
    return d > roster_day ? (int32_t)d : roster_day;
}

/* A department fact counts from its date plus the rule's grace. */
static bool counts(const tdm_suspect_rule *r, const fact *f, int32_t today)
{
    return f && (int64_t)f->date + r->grace_days <= today;
}

static int fact_kind_of(tdm_allowance a)
{
    return a == TDM_ALLOWANCE_TEKUN ? FACT_TEKUN : FACT_DIBAO;
}

static int roster_allowance(const tdm_household *hh, tdm_allowance a)
{
    return a == TDM_ALLOWANCE_TEKUN ? hh->tekun : hh->dibao;
}

/* Sorts evidence most recent first. */
static void sort_facts_desc(const fact **v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        const fact *x = v[i];
        size_t j = i;
        while (j > 0 && record_cmp(v[j - 1]->date, &v[j - 1]->ev, x->date, &x->ev) < 0) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = x;
    }
}

static void set_fact_anchor(cand *c, const fact *f)
{
    c->a.topic = f->ev.topic;
    c->a.partition = f->ev.partition;
    c->a.offset = f->ev.offset;
}

static int find_cands(const tdm_eval_ctx *ctx, const tdm_household *hh,
                      const tdm_suspect_dups *dups, int32_t today, const tdm_suspects *s,
                      cands *out)
{
    int32_t roster_day = tdm_eval_cst_day(hh->updated_at);
    char d1[32], d2[32], y1[128], y2[128];

    for (size_t ri = 0; ri < tdm_rules_suspect_count(ctx->rules); ri++) {
        const tdm_suspect_rule *r = tdm_rules_suspect_at(ctx->rules, ri);
        if (!r->enabled)
            continue;
        cand *c;
#define PUSH()                                  \
    do {                                        \
        if (!(c = cand_push(out)))              \
            return -ENOMEM;                     \
        c->rule_index = ri;                     \
        c->rule = r;                            \
    } while (0)

        switch (r->check) {
        case TDM_CHECK_ALLOWANCE_NOT_RECORDED:
        case TDM_CHECK_ALLOWANCE_STILL_MARKED: {
            int kind = fact_kind_of(r->allowance), roster = roster_allowance(hh, r->allowance);
            bool want_approved = r->check == TDM_CHECK_ALLOWANCE_NOT_RECORDED;
            const fact *hits[TDM_SUSPECT_EVIDENCE_MAX];
            size_t nh = 0;
            bool approved_any = false, any = false;
            if (roster != (want_approved ? 0 : 1))
                break; /* silent roster, or it agrees */
            for (size_t i = 0; i < hh->nmembers; i++) {
                const fact *f = fact_get(s, hh->members[i].person_key, kind);
                if (!f)
                    continue;
                approved_any |= f->value == 1;
                if (f->value != (want_approved ? 1 : 0))
                    continue;
                any = true;
                /* not recorded: the approvals that count; still marked:
                 * every cancellation (the latest must count, below) */
                if (!want_approved || counts(r, f, today)) {
                    if (nh < TDM_SUSPECT_EVIDENCE_MAX) {
                        hits[nh++] = f;
                    } else {
                        /* keep the most recent ten */
                        sort_facts_desc(hits, nh);
                        if (record_cmp(f->date, &f->ev, hits[nh - 1]->date, &hits[nh - 1]->ev) > 0)
                            hits[nh - 1] = f;
                    }
                }
            }
            if (!any || (!want_approved && approved_any))
                break; /* the household's allowance agrees with the roster */
            sort_facts_desc(hits, nh);
            if (nh == 0 || !counts(r, hits[0], today)) {
                /* The department side contradicts but does not count yet:
                 * not recorded, every approval within its grace; still
                 * marked, the latest cancellation (the allowance ended no
                 * earlier) within its grace, so an older one of another
                 * member does not raise it again. An open suspect stays
                 * open: the contradiction is not gone. */
                bool open;
                open_find(s, r->id, NULL, &open);
                if (open) {
                    PUSH();
                    c->a.topic = "";
                    c->keep_only = true;
                }
                break;
            }
            PUSH();
            set_fact_anchor(c, hits[0]);
            c->data_day = later(roster_day, hits[0]->date, r->grace_days);
            for (size_t k = 0; k < nh; k++)
                c->ev[c->n_ev++] = &hits[k]->ev;
            date_words(hits[0]->date, d1, sizeof(d1));
            snprintf(c->roster_value, sizeof(c->roster_value), "%s%s",
                     want_approved ? "未享受" : "享受", allowance_words(r->allowance));
            snprintf(c->department_value, sizeof(c->department_value), "%s %s %s",
                     allowance_words(r->allowance), d1, want_approved ? "批准" : "取消");
            break;
        }
        case TDM_CHECK_INCOME_BELOW_TRANSFERS: {
            if (!hh->has_income)
                break;
            const year_sum *y = year_get(s, hh->income_year);
            int64_t lim;
            if (!y || __builtin_sub_overflow(y->sum_fen, r->tolerance_fen, &lim) ||
                lim <= hh->income_annual_fen)
                break;
            PUSH();
            c->a.topic = y->latest.topic;
            c->a.partition = y->latest.partition;
            c->a.offset = y->latest.offset;
            c->data_day = later(roster_day, y->latest.event_date, 0);
            c->ev[c->n_ev++] = &y->latest;
            td_money_format_yuan(hh->income_annual_fen, y1, sizeof(y1));
            td_money_format_yuan(y->sum_fen, y2, sizeof(y2));
            snprintf(c->roster_value, sizeof(c->roster_value), "%d年家庭纯收入=%s元",
                     (int)hh->income_year, y1);
            snprintf(c->department_value, sizeof(c->department_value),
                     "%d年民政转移性收入=%s元", (int)hh->income_year, y2);
            break;
        }
        case TDM_CHECK_DEATH_STILL_LISTED:
        case TDM_CHECK_DISABILITY_GRADE_DIFFERS:
        case TDM_CHECK_ABLE_BODIED_SEVERELY_DISABLED:
        case TDM_CHECK_WELFARE_JOB_NOT_RECORDED:
        case TDM_CHECK_WELFARE_JOB_STILL_MARKED:
        case TDM_CHECK_DUPLICATE_PERSON:
        case TDM_CHECK_BIRTH_DATE_DIFFERS:
        case TDM_CHECK_SEX_DIFFERS:
            for (size_t i = 0; i < hh->nmembers; i++) {
                const tdm_member *m = &hh->members[i];
                const char *pk = m->person_key;
                const fact *f = NULL;
                bool hit = false, roster_only = false, pending = false;
                if (!pk || !pk[0])
                    continue;
                switch (r->check) {
                case TDM_CHECK_DEATH_STILL_LISTED:
                    f = fact_get(s, pk, FACT_DEATH);
                    pending = f && !counts(r, f, today);
                    hit = counts(r, f, today);
                    if (hit) {
                        date_words(f->date, d1, sizeof(d1));
                        snprintf(y1, sizeof(y1), "在册");
                        snprintf(y2, sizeof(y2), "%s 登记死亡", d1);
                    }
                    break;
                case TDM_CHECK_DISABILITY_GRADE_DIFFERS:
                    f = fact_get(s, pk, FACT_DISABILITY);
                    pending = f && !counts(r, f, today) && m->disability_grade != f->value;
                    hit = counts(r, f, today) && m->disability_grade != f->value;
                    if (hit) {
                        date_words(f->date, d1, sizeof(d1));
                        snprintf(y1, sizeof(y1), "残疾等级=%s", grade_words(m->disability_grade));
                        snprintf(y2, sizeof(y2), "残疾等级=%s（%s 认定）", grade_words(f->value),
                                 d1);
                    }
                    break;
                case TDM_CHECK_ABLE_BODIED_SEVERELY_DISABLED:
                    f = fact_get(s, pk, FACT_DISABILITY);
                    pending = f && !counts(r, f, today) && f->value <= r->max_disability_grade &&
                              (r->labour_capacities & (unsigned)labour_bit(m->labour));
                    hit = counts(r, f, today) && f->value <= r->max_disability_grade &&
                          (r->labour_capacities & (unsigned)labour_bit(m->labour));
                    if (hit) {
                        date_words(f->date, d1, sizeof(d1));
                        snprintf(y1, sizeof(y1), "劳动技能=%s", labour_words(m->labour));
                        snprintf(y2, sizeof(y2), "残疾等级=%s（%s 认定）", grade_words(f->value),
                                 d1);
                    }
                    break;
                case TDM_CHECK_WELFARE_JOB_NOT_RECORDED:
                case TDM_CHECK_WELFARE_JOB_STILL_MARKED: {
                    bool started = r->check == TDM_CHECK_WELFARE_JOB_NOT_RECORDED;
                    f = fact_get(s, pk, FACT_JOB);
                    pending = f && !counts(r, f, today) && f->value == (started ? 1 : 0) &&
                              m->public_welfare_job == (started ? 0 : 1);
                    hit = counts(r, f, today) && f->value == (started ? 1 : 0) &&
                          m->public_welfare_job == (started ? 0 : 1);
                    if (hit) {
                        date_words(f->date, d1, sizeof(d1));
                        snprintf(y1, sizeof(y1), "%s", started ? "无公益性岗位" : "公益性岗位");
                        snprintf(y2, sizeof(y2), "公益性岗位 %s %s", d1,
                                 started ? "上岗" : "退出");
                    }
                    break;
                }
                case TDM_CHECK_DUPLICATE_PERSON:
                    roster_only = true;
                    hit = dups && dups->n_other && dups->n_other[i] > 0;
                    if (hit) {
                        snprintf(y1, sizeof(y1), "本户在册");
                        snprintf(y2, sizeof(y2), "名册中另有%zu户登记此人", dups->n_other[i]);
                    }
                    break;
                case TDM_CHECK_BIRTH_DATE_DIFFERS:
                    roster_only = true;
                    hit = m->has_recorded_birth_date && m->recorded_birth_date != m->birth_date;
                    if (hit) {
                        date_words(m->recorded_birth_date, d1, sizeof(d1));
                        date_words(m->birth_date, d2, sizeof(d2));
                        snprintf(y1, sizeof(y1), "出生日期=%s", d1);
                        snprintf(y2, sizeof(y2), "身份证号出生日期=%s", d2);
                    }
                    break;
                case TDM_CHECK_SEX_DIFFERS:
                    roster_only = true;
                    hit = (m->sex == TDM_SEX_MALE || m->sex == TDM_SEX_FEMALE) &&
                          (m->id_sex == TDM_SEX_MALE || m->id_sex == TDM_SEX_FEMALE) &&
                          m->sex != m->id_sex;
                    if (hit) {
                        snprintf(y1, sizeof(y1), "性别=%s", sex_words(m->sex));
                        snprintf(y2, sizeof(y2), "身份证号性别=%s", sex_words(m->id_sex));
                    }
                    break;
                default:
                    break;
                }
                if (!hit && pending) {
                    /* a newer record that contradicts too, within its
                     * grace: an open suspect of the member stays open */
                    bool open;
                    open_find(s, r->id, pk, &open);
                    if (open) {
                        PUSH();
                        c->member = m;
                        c->a.topic = "";
                        c->keep_only = true;
                    }
                }
                if (!hit)
                    continue;
                PUSH();
                c->member = m;
                if (roster_only) {
                    c->a.topic = "";
                    c->a.partition = 0;
                    c->a.offset = hh->updated_at;
                    c->data_day = roster_day;
                    c->roster_evidence = true;
                } else {
                    set_fact_anchor(c, f);
                    c->data_day = later(roster_day, f->date, r->grace_days);
                    c->ev[c->n_ev++] = &f->ev;
                }
                snprintf(c->roster_value, sizeof(c->roster_value), "%s", y1);
                snprintf(c->department_value, sizeof(c->department_value), "%s", y2);
            }
            break;
        }
#undef PUSH
    }
    return 0;
}

static int suspect_route(const char *village, const char *id, tdm_route *ret)
{
    tdm_route rt;
    int rc = tdm_alert_route(village, id, &rt);
    if (rc < 0)
        return rc;
    if (rt.routed)
        snprintf(rt.topic, sizeof(rt.topic), "%s%s", TDM_SUSPECT_TOPIC_PREFIX, rt.county_code);
    else
        snprintf(rt.topic, sizeof(rt.topic), "%s", TDM_SUSPECT_TOPIC_UNROUTED);
    *ret = rt;
    return 0;
}

/* "sus-" and 32 hex characters of SHA-256 over the rule (id, version), the
 * household, the person, the anchor, the data day (cand.data_day, not the
 * push day raised_at is of) and the trigger (its record's
 * topic/partition/offset, and its time: a tick has no record). The anchor
 * and day alone do not tell a contradiction raised again after it resolved
 * from the first one (the anchor can be the same record and the day the
 * same: test_raised_again_new_id); the trigger of a raise is a record
 * processed once, or a tick of its own day. The data day keeps a raise by a
 * record a function of the records alone, as an alert id is: the same
 * records read on another stream day give the same id
 * (test_old_fact_raised_on_push_day), and ids are those of the versions
 * that raised on the data day. */
static int suspect_id(const tdm_suspect_rule *r, const char *household_id, const char *pk,
                      const anchor *a, int32_t data_day, const tdm_suspect_trigger *t,
                      char out[TDM_SUSPECT_ID_MAX + 1])
{
    static const char domain[] = "tuodi-suspect-id/2";
    uint8_t p4[4], o8[8], d4[4], tp4[4], to8[8], tw8[8];
    const tdm_coords *tc = t ? t->coords : NULL;
    uint32_t utp = tc ? (uint32_t)tc->partition : 0;
    uint64_t uto = tc ? (uint64_t)tc->offset : 0, utw = t ? (uint64_t)t->at_ms : 0;
    for (int i = 0; i < 4; i++)
        tp4[i] = (uint8_t)(utp >> (8 * i));
    for (int i = 0; i < 8; i++) {
        to8[i] = (uint8_t)(uto >> (8 * i));
        tw8[i] = (uint8_t)(utw >> (8 * i));
    }
    uint32_t ud = (uint32_t)data_day;
    for (int i = 0; i < 4; i++)
        d4[i] = (uint8_t)(ud >> (8 * i));
    uint32_t up = (uint32_t)a->partition;
    uint64_t uo = (uint64_t)a->offset;
    for (int i = 0; i < 4; i++)
        p4[i] = (uint8_t)(up >> (8 * i));
    for (int i = 0; i < 8; i++)
        o8[i] = (uint8_t)(uo >> (8 * i));
    const tdm_hash_part parts[] = {
        {'T', domain, sizeof(domain) - 1},
        {'r', r->id, strlen(r->id)},
        {'v', r->version, strlen(r->version)},
        {'h', household_id, strlen(household_id)},
        {'p', nz(pk), strlen(nz(pk))},
        {'t', nz(a->topic), strlen(nz(a->topic))},
        {'n', p4, sizeof(p4)},
        {'o', o8, sizeof(o8)},
        {'d', d4, sizeof(d4)},
        {'g', tc ? nz(tc->topic) : "", tc ? strlen(nz(tc->topic)) : 0},
        {'q', tp4, sizeof(tp4)},
        {'f', to8, sizeof(to8)},
        {'w', tw8, sizeof(tw8)},
    };
    memcpy(out, "sus-", 4);
    return tdm_hash_hex(parts, sizeof(parts) / sizeof(parts[0]), 32, out + 4);
}

/* The roster record as evidence (strings borrowed from value or hh). */
static void roster_evidence(const tdm_suspect_trigger *t, const avro_value_t *value,
                            const char *household_id, const char *person_key,
                            tdm_evidence *e)
{
    avro_value_t src;
    memset(e, 0, sizeof(*e));
    e->dataset = TDM_DATASET_HOUSEHOLD;
    e->person_key = (char *)person_key;
    e->topic = "";
    if (t && t->dataset == TDM_DATASET_HOUSEHOLD && t->coords) {
        e->topic = (char *)nz(t->coords->topic);
        e->partition = t->coords->partition;
        e->offset = t->coords->offset;
    }
    e->src_department = "RURAL_REVITALIZATION";
    e->src_connector_instance = "";
    e->src_record_id = (char *)household_id;
    if (value && tdm_value_field(value, "source", &src) == 0) {
        const char *dept = NULL, *inst = NULL, *rid = NULL, *loc = NULL;
        bool has_row = false;
        int64_t row = 0;
        if (tdm_value_enum(&src, "department", &dept) == 0 && dept)
            e->src_department = (char *)dept;
        if (tdm_value_str(&src, "connector_instance", &inst) == 0 && inst)
            e->src_connector_instance = (char *)inst;
        if (tdm_value_str(&src, "record_id", &rid) == 0 && rid && rid[0])
            e->src_record_id = (char *)rid;
        if (tdm_value_str(&src, "location", &loc) == 0)
            e->src_location = (char *)loc;
        if (tdm_value_int(&src, "row", &has_row, &row) == 0) {
            e->has_src_row = has_row;
            e->src_row = row;
        }
    }
}

/* Raises c on day today (the evaluation's: the push day): raised_at is the
 * later of today and c's data day, so no suspect is born overdue however
 * old its fact. */
static int raise(const tdm_eval_ctx *ctx, const tdm_household *hh, const cand *c,
                 int32_t today, const tdm_suspect_trigger *t, tdm_suspects *s,
                 tdm_suspect_list *out, td_error *err)
{
    const tdm_suspect_rule *r = c->rule;
    const char *pk = c->member ? c->member->person_key : NULL;
    char id[TDM_SUSPECT_ID_MAX + 1];
    bool oom = false;
    int32_t raised_day = today > c->data_day ? today : c->data_day;
    int rc = suspect_id(r, hh->household_id, pk, &c->a, c->data_day, t, id);
    if (rc < 0)
        return td_error_set(err, rc, "suspect rule %s: id failed", r->id);

    open_suspect o;
    memset(&o, 0, sizeof(o));
    tdm_suspect_out *m = &o.m;
    memcpy(m->suspect_id, id, strlen(id) + 1);
    m->kind = TDM_SUSPECT_RAISED;
    m->indicator_id = tdm_value_dup(r->id, &oom);
    m->indicator_version = tdm_value_dup(r->version, &oom);
    m->indicator_name = tdm_value_dup(r->name, &oom);
    m->fix_hint = tdm_value_dup(r->fix_hint, &oom);
    m->household_id = tdm_value_dup(hh->household_id, &oom);
    m->grid_id = tdm_value_dup(hh->grid_id, &oom);
    m->head_name = tdm_value_dup(hh->head_name, &oom);
    m->person_key = tdm_value_dup(pk, &oom);
    m->person_name = tdm_value_dup(c->member ? c->member->name : NULL, &oom);
    m->roster_value = tdm_value_dup(c->roster_value, &oom);
    m->department_value = tdm_value_dup(c->department_value, &oom);
    if (c->roster_evidence) {
        tdm_evidence e;
        roster_evidence(t, t && t->dataset == TDM_DATASET_HOUSEHOLD ? t->value : NULL,
                        hh->household_id, pk, &e);
        if (tdm_evidence_copy(&m->evidence[0], &e) < 0)
            oom = true;
        m->n_evidence = 1;
    }
    for (size_t k = 0; k < c->n_ev; k++) {
        if (tdm_evidence_copy(&m->evidence[m->n_evidence], c->ev[k]) < 0)
            oom = true;
        m->n_evidence++;
    }
    m->raised_at = tdm_eval_cst_midnight_ms(raised_day);
    tdm_alert_due_dates(ctx->calendar, raised_day, NULL, &m->fix_due_date);
    o.a = c->a;
    o.a.topic = tdm_value_dup(nz(c->a.topic), &oom);
    if (oom) {
        open_done(&o);
        return td_error_set(err, -ENOMEM, "out of memory");
    }
    rc = suspect_route(hh->village_code, id, &m->route);
    if (rc < 0) {
        open_done(&o);
        return td_error_set(err, rc, "suspect rule %s: routing failed", r->id);
    }

    tdm_suspect_out *msg = list_push(out);
    if (!msg || out_copy(msg, m) < 0) {
        open_done(&o);
        return td_error_set(err, -ENOMEM, "out of memory");
    }
    bool found;
    size_t i = open_find(s, r->id, pk, &found);
    if (found || s->no >= MAX_OPEN ||
        grow((void **)&s->o, &s->capo, s->no + 1, sizeof(*s->o)) < 0) {
        open_done(&o);
        return td_error_set(err, found ? -EEXIST : s->no >= MAX_OPEN ? -ENOSPC : -ENOMEM,
                            "suspect rule %s: cannot keep the open suspect", r->id);
    }
    memmove(&s->o[i + 1], &s->o[i], (s->no - i) * sizeof(*s->o));
    s->o[i] = o;
    s->no++;
    return 0;
}

/* The evidence of what resolved a suspect, into m (owned copies). */
static int resolved_by(const tdm_suspect_trigger *t, const char *household_id,
                       tdm_suspect_out *m, td_error *err)
{
    tdm_evidence e;
    tdm_dataset ds = t ? t->dataset : TDM_DATASET_ANY;
    if ((ds == TDM_DATASET_CIVIL_AFFAIRS || ds == TDM_DATASET_HUMAN_RESOURCES ||
         ds == TDM_DATASET_MEDICAL_INSURANCE) && t->value) {
        tdm_record rec;
        int rc = tdm_record_read(ds, t->value, &rec, err);
        if (rc < 0)
            return rc;
        tdm_record_evidence(&rec, t->coords, &e);
    } else {
        roster_evidence(t, ds == TDM_DATASET_HOUSEHOLD ? t->value : NULL, household_id, NULL,
                        &e);
    }
    m->has_resolution = true;
    m->resolved_at = t ? t->at_ms : 0;
    if (tdm_evidence_copy(&m->resolved_by, &e) < 0)
        return td_error_set(err, -ENOMEM, "out of memory");
    return 0;
}

/* Emits RESOLVED for open suspect i and removes it. */
static int resolve(size_t i, const tdm_suspect_trigger *t, tdm_suspects *s,
                   tdm_suspect_list *out, td_error *err)
{
    tdm_suspect_out *msg = list_push(out);
    if (!msg || out_copy(msg, &s->o[i].m) < 0)
        return td_error_set(err, -ENOMEM, "out of memory");
    msg->kind = TDM_SUSPECT_RESOLVED;
    int rc = resolved_by(t, s->o[i].m.household_id, msg, err);
    if (rc < 0)
        return rc;
    open_done(&s->o[i]);
    memmove(&s->o[i], &s->o[i + 1], (s->no - i - 1) * sizeof(*s->o));
    s->no--;
    return 0;
}

static bool marked(const tdm_suspects *s, const char *rule, const char *pk, const anchor *a)
{
    closed_mark k = {(char *)rule, (char *)nz(pk), *a};
    bool found;
    mark_find(s, &k, &found);
    return found;
}

/* Pending actions of one evaluation, sorted before they are carried out. */
typedef struct action {
    size_t rule_index;              /* SIZE_MAX: a rule no longer in the file */
    const char *rule_id;
    const char *person_key;         /* "" household-level */
    const cand *raise;              /* NULL: resolve */
} action;

static int action_cmp(const void *x, const void *y)
{
    const action *a = x, *b = y;
    if (a->rule_index != b->rule_index)
        return a->rule_index < b->rule_index ? -1 : 1;
    int c = strcmp(a->rule_id, b->rule_id);
    if (c)
        return c;
    return strcmp(a->person_key, b->person_key);
}

int tdm_suspects_eval(const tdm_eval_ctx *ctx, const tdm_household *household,
                      const tdm_suspect_dups *dups, int32_t today,
                      const tdm_suspect_trigger *trigger, tdm_suspects *s,
                      tdm_suspect_list *out, td_error *err)
{
    size_t n0;
    cands cs = {NULL, 0, 0};
    action *acts = NULL;
    size_t na = 0;
    int rc = 0;

    if (!ctx || !ctx->rules || !s || !out)
        return td_error_set(err, -EINVAL, "tdm_suspects_eval: NULL argument");
    if (household && (!household->household_id || !household->household_id[0]))
        return td_error_set(err, -EINVAL, "tdm_suspects_eval: a household without an id");
    n0 = out->n;
    if (household) {
        rc = find_cands(ctx, household, dups, today, s, &cs);
        if (rc < 0) {
            td_error_set(err, rc, "out of memory");
            goto done;
        }
    }
    acts = calloc(cs.n + s->no + 1, sizeof(*acts));
    if (!acts) {
        rc = td_error_set(err, -ENOMEM, "out of memory");
        goto done;
    }
    /* open suspects whose contradiction is gone */
    for (size_t i = 0; i < s->no; i++) {
        const tdm_suspect_out *m = &s->o[i].m;
        size_t ri = SIZE_MAX;
        for (size_t k = 0; k < tdm_rules_suspect_count(ctx->rules); k++)
            if (strcmp(tdm_rules_suspect_at(ctx->rules, k)->id, m->indicator_id) == 0)
                ri = k;
        const tdm_suspect_rule *r = ri == SIZE_MAX ? NULL : tdm_rules_suspect_at(ctx->rules, ri);
        bool gone;
        if (!household) {
            gone = true; /* the household left the roster */
        } else if (!r || !r->enabled) {
            gone = false; /* no rule judges it now: it stays as it is */
        } else {
            gone = true;
            for (size_t k = 0; k < cs.n && gone; k++) {
                const cand *c = &cs.v[k];
                gone = !(c->rule == r &&
                         strcmp(nz(c->member ? c->member->person_key : NULL),
                                nz(m->person_key)) == 0);
            }
        }
        if (gone)
            acts[na++] = (action){ri, m->indicator_id, nz(m->person_key), NULL};
    }
    /* new contradictions */
    for (size_t k = 0; k < cs.n; k++) {
        const cand *c = &cs.v[k];
        const char *pk = c->member ? c->member->person_key : NULL;
        bool found;
        open_find(s, c->rule->id, pk, &found);
        if (found || c->keep_only || marked(s, c->rule->id, pk, &c->a))
            continue;
        bool dup = false; /* one raise per (rule, person) */
        for (size_t j = 0; j < na && !dup; j++)
            dup = acts[j].raise && acts[j].raise->rule == c->rule &&
                  strcmp(acts[j].person_key, nz(pk)) == 0;
        if (!dup)
            acts[na++] = (action){c->rule_index, c->rule->id, nz(pk), c};
    }
    qsort(acts, na, sizeof(*acts), action_cmp);
    /* carry out; resolve by key (indices move as suspects are removed) */
    for (size_t j = 0; j < na && rc == 0; j++) {
        if (acts[j].raise) {
            rc = raise(ctx, household, acts[j].raise, today, trigger, s, out, err);
        } else {
            bool found;
            char rule[TDM_WINDOW_RULE_ID_MAX + 1], pk[1024];
            snprintf(rule, sizeof(rule), "%s", acts[j].rule_id);
            snprintf(pk, sizeof(pk), "%s", acts[j].person_key);
            size_t i = open_find(s, rule, pk[0] ? pk : NULL, &found);
            rc = found ? resolve(i, trigger, s, out, err) : 0;
            /* the action's strings pointed into the removed suspect: later
             * actions are sorted after it and never use them again */
        }
    }
done:
    if (rc < 0)
        list_truncate(out, n0);
    free(acts);
    free(cs.v);
    return rc;
}

int32_t tdm_suspects_next_due(const tdm_suspects *s, const tdm_rules *rules, int32_t today)
{
    int32_t best = INT32_MAX;
    if (!s || !rules)
        return best;
    for (size_t ri = 0; ri < tdm_rules_suspect_count(rules); ri++) {
        const tdm_suspect_rule *r = tdm_rules_suspect_at(rules, ri);
        int kind = 0;
        if (!r->enabled || r->grace_days == 0)
            continue;
        switch (r->check) {
        case TDM_CHECK_DEATH_STILL_LISTED:
            kind = FACT_DEATH;
            break;
        case TDM_CHECK_DISABILITY_GRADE_DIFFERS:
        case TDM_CHECK_ABLE_BODIED_SEVERELY_DISABLED:
            kind = FACT_DISABILITY;
            break;
        case TDM_CHECK_ALLOWANCE_NOT_RECORDED:
        case TDM_CHECK_ALLOWANCE_STILL_MARKED:
            kind = fact_kind_of(r->allowance);
            break;
        case TDM_CHECK_WELFARE_JOB_NOT_RECORDED:
        case TDM_CHECK_WELFARE_JOB_STILL_MARKED:
            kind = FACT_JOB;
            break;
        case TDM_CHECK_DUPLICATE_PERSON:
        case TDM_CHECK_BIRTH_DATE_DIFFERS:
        case TDM_CHECK_SEX_DIFFERS:
        case TDM_CHECK_INCOME_BELOW_TRANSFERS:
            break;
        }
        if (!kind)
            continue;
        for (size_t i = 0; i < s->nf; i++) {
            const fact *f = &s->f[i];
            int64_t due = (int64_t)f->date + r->grace_days;
            if (f->kind == kind && due > today && due < best)
                best = (int32_t)due;
        }
    }
    return best;
}

/* ---- outcomes ---- */

int tdm_suspects_outcome(const tdm_eval_ctx *ctx, const avro_value_t *value,
                         const tdm_household *household, tdm_suspects *s,
                         tdm_suspect_list *out, td_error *err)
{
    tdm_outcome_in o;
    (void)household; /* the CLOSED message is the RAISED one's snapshot */
    if (!ctx || !value || !s || !out)
        return td_error_set(err, -EINVAL, "tdm_suspects_outcome: NULL argument");
    int rc = tdm_outcome_read(value, &o, err);
    if (rc < 0)
        return rc;
    if (o.outcome != TDM_OUTCOME_DEPARTMENT_DATA_WRONG)
        return td_error_set(err, -EINVAL,
                            "verification outcome %s: a suspect is closed only as "
                            "DEPARTMENT_DATA_WRONG (fixing the roster resolves it), not %s",
                            o.outcome_id, tdm_outcome_symbol(o.outcome));
    if (!o.has_reason)
        return td_error_set(err, -EINVAL,
                            "verification outcome %s: DEPARTMENT_DATA_WRONG without reason",
                            o.outcome_id);
    size_t i;
    for (i = 0; i < s->no; i++)
        if (strcmp(s->o[i].m.suspect_id, o.alert_id) == 0)
            break;
    if (i == s->no)
        return td_error_set(err, -ENOENT,
                            "verification outcome %s: suspect %s is not open (unknown, "
                            "resolved or closed)", o.outcome_id, o.alert_id);

    const open_suspect *os = &s->o[i];
    bool oom = false;
    closed_mark k;
    k.rule_id = tdm_value_dup(os->m.indicator_id, &oom);
    k.person_key = tdm_value_dup(nz(os->m.person_key), &oom);
    k.a = os->a;
    k.a.topic = tdm_value_dup(nz(os->a.topic), &oom);
    bool found;
    size_t at = oom ? 0 : mark_find(s, &k, &found);
    if (oom || (!found && (s->nc >= MAX_CLOSED ||
                           grow((void **)&s->c, &s->capc, s->nc + 1, sizeof(*s->c)) < 0))) {
        mark_done(&k);
        return td_error_set(err, oom || s->nc < MAX_CLOSED ? -ENOMEM : -ENOSPC,
                            "suspect %s: cannot keep the closure", o.alert_id);
    }
    size_t n0 = out->n;
    tdm_suspect_out *msg = list_push(out);
    if (!msg || out_copy(msg, &os->m) < 0) {
        mark_done(&k);
        list_truncate(out, n0);
        return td_error_set(err, -ENOMEM, "out of memory");
    }
    msg->kind = TDM_SUSPECT_CLOSED;
    msg->has_closure = true;
    msg->closure.outcome = TDM_OUTCOME_DEPARTMENT_DATA_WRONG;
    msg->closure.category = TDM_CATEGORY_NONE;
    msg->closure.reason = tdm_value_dup(o.reason, &oom);
    msg->closure.visit_date = o.visit_date;
    msg->closure.recorded_at = o.recorded_at;
    msg->closure.outcome_id = tdm_value_dup(o.outcome_id, &oom);
    if (oom) {
        mark_done(&k);
        list_truncate(out, n0);
        return td_error_set(err, -ENOMEM, "out of memory");
    }
    /* from here nothing fails */
    if (found) {
        mark_done(&k);
    } else {
        memmove(&s->c[at + 1], &s->c[at], (s->nc - at) * sizeof(*s->c));
        s->c[at] = k;
        s->nc++;
    }
    open_done(&s->o[i]);
    memmove(&s->o[i], &s->o[i + 1], (s->no - i - 1) * sizeof(*s->o));
    s->no--;
    return 0;
}

/* ---- Suspect values ---- */

int tdm_suspect_out_to_avro(const tdm_suspect_out *m, const char *ctx_instance,
                            avro_value_t *value, td_error *err)
{
    static const char *const KINDS[] = {"UNKNOWN", "RAISED", "RESOLVED", "CLOSED"};
    tdm_filler f = {err, 0, "Suspect"};
    avro_value_t b, arr;

    if (!m || !value)
        return td_error_set(err, -EINVAL, "Suspect: NULL argument");
    if (avro_value_reset(value) != 0)
        return td_error_set(err, -EINVAL, "Suspect: cannot reset the value");
    tdm_fill_str(&f, value, "suspect_id", m->suspect_id);
    tdm_fill_enum(&f, value, "kind", (unsigned)m->kind < 4 ? KINDS[m->kind] : "UNKNOWN");
    tdm_fill_str(&f, value, "indicator_id", m->indicator_id);
    tdm_fill_str(&f, value, "indicator_version", m->indicator_version);
    tdm_fill_str(&f, value, "indicator_name", m->indicator_name);
    tdm_fill_str(&f, value, "fix_hint", m->fix_hint);
    tdm_fill_str(&f, value, "household_id", m->household_id);
    tdm_fill_str(&f, value, "village_code", m->route.routed ? m->route.village_code : "");
    tdm_fill_str(&f, value, "township_code", m->route.routed ? m->route.township_code : "");
    tdm_fill_str(&f, value, "county_code", m->route.routed ? m->route.county_code : "");
    tdm_fill_opt_str(&f, value, "grid_id", m->grid_id);
    tdm_fill_opt_str(&f, value, "head_name", m->head_name);
    tdm_fill_opt_str(&f, value, "person_key", m->person_key);
    tdm_fill_opt_str(&f, value, "person_name", m->person_name);
    tdm_fill_opt_str(&f, value, "roster_value", m->roster_value);
    tdm_fill_opt_str(&f, value, "department_value", m->department_value);
    tdm_fill_get(&f, value, "evidence", &arr);
    for (size_t i = 0; f.rc == 0 && i < m->n_evidence && i < TDM_SUSPECT_EVIDENCE_MAX; i++) {
        avro_value_t item;
        if (avro_value_append(&arr, &item, NULL) != 0) {
            f.rc = td_error_set(err, -ENOMEM, "Suspect.evidence: cannot append");
            break;
        }
        tdm_fill_evidence(&f, &item, &m->evidence[i]);
    }
    tdm_fill_long(&f, value, "raised_at", m->raised_at);
    tdm_fill_int(&f, value, "fix_due_date", m->fix_due_date);
    if (tdm_fill_branch(&f, value, "resolution", m->has_resolution, &b)) {
        avro_value_t rec;
        tdm_fill_long(&f, &b, "resolved_at", m->resolved_at);
        tdm_fill_get(&f, &b, "record", &rec);
        if (f.rc == 0)
            tdm_fill_evidence(&f, &rec, &m->resolved_by);
    }
    if (tdm_fill_branch(&f, value, "closure", m->has_closure, &b))
        tdm_fill_closure(&f, &b, &m->closure);
    tdm_fill_source(&f, value, "RURAL_REVITALIZATION", ctx_instance, m->suspect_id, NULL, false,
                    0);
    return f.rc;
}
