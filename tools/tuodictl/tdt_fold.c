/* tdt_fold: the alert queue and the suspect list folded from a county's
 * topics, the roster's monitoring states and persons, and the reports'
 * figures. */
#include "tdt.h"

#include "td_date.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- a string -> index map (open addressing, FNV-1a) ---- */

typedef struct tdt_map {
    size_t *slots; /* index + 1, 0 empty */
    size_t cap;    /* power of two */
} tdt_map;

static uint64_t tdt_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* Finds key; keys(i) gives the key of index i. Returns the slot. */
#define TDT_MAP_SLOT(m, key, keyof, ctx, ret)                                          \
    do {                                                                               \
        size_t s_ = (size_t)tdt_hash(key) & ((m)->cap - 1);                            \
        while ((m)->slots[s_] && strcmp(keyof((ctx), (m)->slots[s_] - 1), (key)) != 0) \
            s_ = (s_ + 1) & ((m)->cap - 1);                                            \
        (ret) = s_;                                                                    \
    } while (0)

/* ---- the queue ---- */

struct tdt_queue {
    tdt_alert *v;
    size_t n, cap;
    tdt_map map;
};

static const char *tdt_queue_key(const tdt_queue *q, size_t i)
{
    return q->v[i].alert_id;
}

int tdt_queue_new(tdt_queue **ret)
{
    tdt_queue *q = calloc(1, sizeof(*q));
    if (!q)
        return -ENOMEM;
    q->map.cap = 64;
    q->map.slots = calloc(q->map.cap, sizeof(size_t));
    if (!q->map.slots) {
        free(q);
        return -ENOMEM;
    }
    *ret = q;
    return 0;
}

static void tdt_alert_clear(tdt_alert *a)
{
    char **s[] = {&a->alert_id, &a->rule_id, &a->rule_name, &a->risk_code, &a->severity,
                  &a->household_id, &a->person_name, &a->head_name, &a->village_code,
                  &a->township_code, &a->county_code, &a->message, &a->category,
                  &a->reason, &a->outcome_id, &a->supersedes, &a->superseded_by};
    for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
        free(*s[i]);
        *s[i] = NULL;
    }
}

tdt_queue *tdt_queue_free(tdt_queue *q)
{
    if (!q)
        return NULL;
    for (size_t i = 0; i < q->n; i++)
        tdt_alert_clear(&q->v[i]);
    free(q->v);
    free(q->map.slots);
    free(q);
    return NULL;
}

static int tdt_queue_grow_map(tdt_queue *q)
{
    size_t nc = q->map.cap * 2, s;
    tdt_map nm = {calloc(nc, sizeof(size_t)), nc};
    if (!nm.slots)
        return -ENOMEM;
    for (size_t i = 0; i < q->n; i++) {
        TDT_MAP_SLOT(&nm, q->v[i].alert_id, tdt_queue_key, q, s);
        nm.slots[s] = i + 1;
    }
    free(q->map.slots);
    q->map = nm;
    return 0;
}

static tdt_alert *tdt_queue_lookup(const tdt_queue *q, const char *id)
{
    size_t s;
    TDT_MAP_SLOT(&q->map, id, tdt_queue_key, q, s);
    return q->map.slots[s] ? &q->v[q->map.slots[s] - 1] : NULL;
}

const tdt_alert *tdt_queue_find(const tdt_queue *q, const char *alert_id)
{
    return q && alert_id ? tdt_queue_lookup(q, alert_id) : NULL;
}

bool tdt_alert_id_shortened(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    return n > 0 && n < TDT_ALERT_ID_LEN && strspn(id, "0123456789abcdef") == n;
}

int tdt_queue_resolve(const tdt_queue *q, const char *id, const tdt_alert **ret, size_t max,
                      size_t *ret_n)
{
    const tdt_alert *exact = tdt_queue_find(q, id);
    size_t n = 0, idl;

    if (exact) {
        if (max > 0)
            ret[0] = exact;
        *ret_n = 1;
        return 0;
    }
    idl = id ? strlen(id) : 0;
    for (size_t i = 0; q && idl > 0 && i < q->n; i++)
        if (strncmp(q->v[i].alert_id, id, idl) == 0) {
            if (n < max)
                ret[n] = &q->v[i];
            n++;
        }
    *ret_n = n;
    if (n == 0)
        return -ENOENT;
    if (idl < TDT_ALERT_PREFIX_MIN)
        return -EINVAL;
    return n == 1 ? 0 : -ENOTUNIQ;
}

static tdt_alert *tdt_queue_insert(tdt_queue *q, const char *id)
{
    size_t s;
    if ((q->n + 1) * 2 > q->map.cap && tdt_queue_grow_map(q) < 0)
        return NULL;
    if (q->n == q->cap) {
        size_t nc = q->cap ? q->cap * 2 : 64;
        tdt_alert *nv = realloc(q->v, nc * sizeof(*nv));
        if (!nv)
            return NULL;
        q->v = nv;
        q->cap = nc;
    }
    memset(&q->v[q->n], 0, sizeof(q->v[q->n]));
    q->v[q->n].alert_id = strdup(id);
    if (!q->v[q->n].alert_id)
        return NULL;
    q->v[q->n].order = q->n;
    TDT_MAP_SLOT(&q->map, id, tdt_queue_key, q, s);
    q->map.slots[s] = q->n + 1;
    return &q->v[q->n++];
}

/* *dst = copy of src when src is not NULL (a snapshot's null leaves what an
 * earlier message said). */
static int tdt_set(char **dst, const char *src)
{
    char *c;
    if (!src)
        return 0;
    if (*dst && strcmp(*dst, src) == 0)
        return 0;
    c = strdup(src);
    if (!c)
        return -ENOMEM;
    free(*dst);
    *dst = c;
    return 0;
}

int tdt_queue_apply(tdt_queue *q, const tdt_alert_msg *m, const tdt_alert **ret)
{
    tdt_alert *a;
    int r = 0;

    if (ret)
        *ret = NULL;
    if (!q || !m || !m->alert_id || !*m->alert_id)
        return -EINVAL;
    if (m->kind == TDT_KIND_UNKNOWN)
        return 0;
    a = tdt_queue_lookup(q, m->alert_id);
    if (!a) {
        a = tdt_queue_insert(q, m->alert_id);
        if (!a)
            return -ENOMEM;
        a->raised_at = m->raised_at;
    }
    r |= tdt_set(&a->rule_id, m->rule_id);
    r |= tdt_set(&a->rule_name, m->rule_name);
    r |= tdt_set(&a->risk_code, m->risk_code);
    r |= tdt_set(&a->severity, m->severity);
    r |= tdt_set(&a->household_id, m->household_id);
    r |= tdt_set(&a->person_name, m->person_name);
    r |= tdt_set(&a->head_name, m->head_name);
    r |= tdt_set(&a->village_code, m->village_code);
    r |= tdt_set(&a->township_code, m->township_code);
    r |= tdt_set(&a->county_code, m->county_code);
    if (m->visit_due_date || m->procedure_due_date) {
        a->visit_due_date = m->visit_due_date;
        a->procedure_due_date = m->procedure_due_date;
    }
    switch (m->kind) {
    case TDT_KIND_ALERT:
        r |= tdt_set(&a->message, m->message);
        if (!a->seen_alert)
            a->raised_at = m->raised_at;
        a->seen_alert = true;
        if (m->supersedes_alert_id && *m->supersedes_alert_id &&
            strcmp(m->supersedes_alert_id, m->alert_id) != 0) {
            size_t self = (size_t)(a - q->v);
            tdt_alert *old;
            r |= tdt_set(&a->supersedes, m->supersedes_alert_id);
            old = tdt_queue_lookup(q, m->supersedes_alert_id);
            a = &q->v[self];
            if (old && old->state == TDT_STATE_OPEN) {
                old->state = TDT_STATE_SUPERSEDED;
                r |= tdt_set(&old->superseded_by, m->alert_id);
            }
        }
        break;
    case TDT_KIND_OVERDUE_WARNING:
        a->overdue_warned = true;
        break;
    case TDT_KIND_CLOSED:
        a->state = TDT_STATE_CLOSED;
        if (m->has_closure) {
            a->outcome = m->outcome;
            r |= tdt_set(&a->category, m->category);
            r |= tdt_set(&a->reason, m->reason);
            r |= tdt_set(&a->outcome_id, m->outcome_id);
            a->visit_date = m->visit_date;
            a->recorded_at = m->recorded_at;
        }
        break;
    default:
        break;
    }
    if (r)
        return -ENOMEM;
    if (ret)
        *ret = a;
    return 0;
}

size_t tdt_queue_count(const tdt_queue *q)
{
    return q ? q->n : 0;
}

const tdt_alert *tdt_queue_at(const tdt_queue *q, size_t i)
{
    return q && i < q->n ? &q->v[i] : NULL;
}

bool tdt_alert_overdue(const tdt_alert *a, int32_t today)
{
    return a->state == TDT_STATE_OPEN && (a->overdue_warned || today > a->visit_due_date);
}

static int tdt_alert_cmp(const void *x, const void *y)
{
    const tdt_alert *a = *(const tdt_alert *const *)x, *b = *(const tdt_alert *const *)y;
    if (a->visit_due_date != b->visit_due_date)
        return a->visit_due_date < b->visit_due_date ? -1 : 1;
    if (a->raised_at != b->raised_at)
        return a->raised_at < b->raised_at ? -1 : 1;
    return strcmp(a->alert_id, b->alert_id);
}

int tdt_queue_select(const tdt_queue *q, bool all, const char *township,
                     const tdt_alert ***ret, size_t *ret_n)
{
    const tdt_alert **v = malloc((q->n ? q->n : 1) * sizeof(*v));
    size_t n = 0;
    if (!v)
        return -ENOMEM;
    for (size_t i = 0; i < q->n; i++) {
        const tdt_alert *a = &q->v[i];
        if (!all && a->state != TDT_STATE_OPEN)
            continue;
        if (township && (!a->township_code || strcmp(a->township_code, township) != 0))
            continue;
        v[n++] = a;
    }
    qsort(v, n, sizeof(*v), tdt_alert_cmp);
    *ret = v;
    *ret_n = n;
    return 0;
}

void tdt_queue_stats(const tdt_queue *q, int32_t today, tdt_stats *s)
{
    for (size_t i = 0; q && i < q->n; i++) {
        const tdt_alert *a = &q->v[i];
        s->raised++;
        switch (a->state) {
        case TDT_STATE_OPEN:
            s->open++;
            if (tdt_alert_overdue(a, today))
                s->overdue++;
            break;
        case TDT_STATE_CLOSED:
            s->closed++;
            s->by_outcome[a->outcome < TDT_OUTCOME_N ? a->outcome : TDT_OUTCOME_UNKNOWN]++;
            break;
        case TDT_STATE_SUPERSEDED:
            s->superseded++;
            break;
        }
    }
}

int64_t tdt_day_cst_start_ms(int32_t day)
{
    return (int64_t)day * 86400000 - INT64_C(8) * 3600000;
}

int32_t tdt_day_cst(int64_t wall_ms)
{
    int64_t ms = wall_ms + INT64_C(8) * 3600000;
    int64_t d = ms / 86400000;
    if (ms % 86400000 < 0)
        d--;
    return (int32_t)d;
}

int tdt_date_arg(const char *opt, const char *s, int32_t *ret, td_error *err)
{
    static const char *const months[] = {"January", "February", "March",     "April",
                                         "May",     "June",     "July",      "August",
                                         "September", "October", "November", "December"};
    int y, m, d, dim;

    if (!s || strlen(s) != 10 || strspn(s, "0123456789") != 4 || s[4] != '-' ||
        strspn(s + 5, "0123456789") != 2 || s[7] != '-' || strspn(s + 8, "0123456789") != 2)
        return td_error_set(err, -EINVAL, "%s %s: expected a date as YYYY-MM-DD, e.g. "
                            "2023-05-06", opt, s ? s : "");
    y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    m = (s[5] - '0') * 10 + (s[6] - '0');
    d = (s[8] - '0') * 10 + (s[9] - '0');
    if (y < 1)
        return td_error_set(err, -EINVAL, "%s %s is not a date: years run from 0001 to 9999",
                            opt, s);
    if (m < 1 || m > 12)
        return td_error_set(err, -EINVAL, "%s %s is not a date: there is no month %02d "
                            "(01 to 12)", opt, s, m);
    dim = td_date_days_in_month(y, m);
    if (d < 1 || d > dim)
        return td_error_set(err, -EINVAL, "%s %s is not a date: %s %04d has %d days", opt, s,
                            months[m - 1], y, dim);
    if (!td_date_from_ymd(y, m, d, ret))
        return td_error_set(err, -EINVAL, "%s %s is not a date", opt, s);
    return 0;
}

/* ---- reading an Alert value ---- */

static int tdt_field(const avro_value_t *v, const char *name, avro_value_t *f, td_error *err)
{
    if (avro_value_get_by_name(v, name, f, NULL) != 0)
        return td_error_set(err, -EINVAL, "no field %s", name);
    return 0;
}

static int tdt_get_str(const avro_value_t *v, const char *name, const char **ret, td_error *err)
{
    avro_value_t f;
    size_t size;
    if (tdt_field(v, name, &f, err) < 0)
        return -EINVAL;
    if (avro_value_get_string(&f, ret, &size) != 0)
        return td_error_set(err, -EINVAL, "%s: not a string", name);
    return 0;
}

/* A ["null", string] field: NULL for null. */
static int tdt_get_opt_str(const avro_value_t *v, const char *name, const char **ret,
                           td_error *err)
{
    avro_value_t f, b;
    size_t size;
    if (tdt_field(v, name, &f, err) < 0)
        return -EINVAL;
    if (avro_value_get_current_branch(&f, &b) != 0)
        return td_error_set(err, -EINVAL, "%s: not a union", name);
    if (avro_value_get_type(&b) == AVRO_NULL) {
        *ret = NULL;
        return 0;
    }
    if (avro_value_get_string(&b, ret, &size) != 0)
        return td_error_set(err, -EINVAL, "%s: not a string", name);
    return 0;
}

static const char *tdt_enum_symbol(const avro_value_t *f)
{
    int idx;
    if (avro_value_get_enum(f, &idx) != 0)
        return NULL;
    return avro_schema_enum_get(avro_value_get_schema(f), idx);
}

static int tdt_get_enum(const avro_value_t *v, const char *name, const char **ret, td_error *err)
{
    avro_value_t f;
    if (tdt_field(v, name, &f, err) < 0)
        return -EINVAL;
    *ret = tdt_enum_symbol(&f);
    if (!*ret)
        return td_error_set(err, -EINVAL, "%s: not an enum", name);
    return 0;
}

/* A ["null", enum] field. */
static int tdt_get_opt_enum(const avro_value_t *v, const char *name, const char **ret,
                            td_error *err)
{
    avro_value_t f, b;
    if (tdt_field(v, name, &f, err) < 0)
        return -EINVAL;
    if (avro_value_get_current_branch(&f, &b) != 0)
        return td_error_set(err, -EINVAL, "%s: not a union", name);
    if (avro_value_get_type(&b) == AVRO_NULL) {
        *ret = NULL;
        return 0;
    }
    *ret = tdt_enum_symbol(&b);
    if (!*ret)
        return td_error_set(err, -EINVAL, "%s: not an enum", name);
    return 0;
}

static tdt_outcome tdt_outcome_from_symbol(const char *s)
{
    for (int o = 1; o < TDT_OUTCOME_N; o++)
        if (strcmp(s, tdt_outcome_symbol((tdt_outcome)o)) == 0)
            return (tdt_outcome)o;
    return TDT_OUTCOME_UNKNOWN;
}

int tdt_alert_msg_from_avro(const avro_value_t *v, tdt_alert_msg *ret, td_error *err)
{
    tdt_alert_msg m;
    avro_value_t f, b;
    const char *kind = NULL;
    int32_t i32;
    int64_t i64;

    memset(&m, 0, sizeof(m));
    if (tdt_get_str(v, "alert_id", &m.alert_id, err) < 0 ||
        tdt_get_enum(v, "kind", &kind, err) < 0 ||
        tdt_get_str(v, "rule_id", &m.rule_id, err) < 0 ||
        tdt_get_str(v, "rule_name", &m.rule_name, err) < 0 ||
        tdt_get_opt_str(v, "risk_code", &m.risk_code, err) < 0 ||
        tdt_get_enum(v, "severity", &m.severity, err) < 0 ||
        tdt_get_opt_str(v, "household_id", &m.household_id, err) < 0 ||
        tdt_get_opt_str(v, "person_name", &m.person_name, err) < 0 ||
        tdt_get_opt_str(v, "head_name", &m.head_name, err) < 0 ||
        tdt_get_opt_str(v, "village_code", &m.village_code, err) < 0 ||
        tdt_get_opt_str(v, "township_code", &m.township_code, err) < 0 ||
        tdt_get_opt_str(v, "county_code", &m.county_code, err) < 0 ||
        tdt_get_str(v, "message", &m.message, err) < 0 ||
        tdt_get_opt_str(v, "supersedes_alert_id", &m.supersedes_alert_id, err) < 0)
        return -EINVAL;
    if (strcmp(kind, "ALERT") == 0)
        m.kind = TDT_KIND_ALERT;
    else if (strcmp(kind, "OVERDUE_WARNING") == 0)
        m.kind = TDT_KIND_OVERDUE_WARNING;
    else if (strcmp(kind, "CLOSED") == 0)
        m.kind = TDT_KIND_CLOSED;
    if (tdt_field(v, "raised_at", &f, err) < 0 || avro_value_get_long(&f, &i64) != 0)
        return td_error_set(err, -EINVAL, "Alert: bad raised_at");
    m.raised_at = i64;
    if (tdt_field(v, "visit_due_date", &f, err) < 0 || avro_value_get_int(&f, &i32) != 0)
        return td_error_set(err, -EINVAL, "Alert: bad visit_due_date");
    m.visit_due_date = i32;
    if (tdt_field(v, "procedure_due_date", &f, err) < 0 || avro_value_get_int(&f, &i32) != 0)
        return td_error_set(err, -EINVAL, "Alert: bad procedure_due_date");
    m.procedure_due_date = i32;
    if (tdt_field(v, "closure", &f, err) < 0 || avro_value_get_current_branch(&f, &b) != 0)
        return td_error_set(err, -EINVAL, "Alert: bad closure");
    if (avro_value_get_type(&b) != AVRO_NULL) {
        const char *outcome = NULL;
        m.has_closure = true;
        if (tdt_get_enum(&b, "outcome", &outcome, err) < 0 ||
            tdt_get_opt_enum(&b, "category", &m.category, err) < 0 ||
            tdt_get_opt_str(&b, "reason", &m.reason, err) < 0 ||
            tdt_get_str(&b, "outcome_id", &m.outcome_id, err) < 0)
            return -EINVAL;
        m.outcome = tdt_outcome_from_symbol(outcome);
        if (tdt_field(&b, "visit_date", &f, err) < 0 || avro_value_get_int(&f, &i32) != 0)
            return td_error_set(err, -EINVAL, "Alert: bad closure.visit_date");
        m.visit_date = i32;
        if (tdt_field(&b, "recorded_at", &f, err) < 0 || avro_value_get_long(&f, &i64) != 0)
            return td_error_set(err, -EINVAL, "Alert: bad closure.recorded_at");
        m.recorded_at = i64;
    }
    *ret = m;
    return 0;
}

/* ---- words ---- */

const char *tdt_risk_words(const char *c)
{
    static const struct {
        const char *code, *words;
    } t[] = {
        {"01", "因病"},   {"03", "因残"},         {"04", "缺劳动力"},
        {"05", "因意外事故"}, {"06", "因产业项目失败"}, {"07", "因务工就业不稳"},
        {"09", "因学"},   {"99", "其他"},
    };
    if (!c)
        return NULL;
    if (strlen(c) == 4 && c[0] == '0' && c[1] == '2')
        return "因自然灾害";
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (strcmp(c, t[i].code) == 0)
            return t[i].words;
    return NULL;
}

const char *tdt_severity_words(const char *s)
{
    if (s && strcmp(s, "HIGH") == 0)
        return "高";
    if (s && strcmp(s, "MEDIUM") == 0)
        return "中";
    if (s && strcmp(s, "LOW") == 0)
        return "低";
    return "未知";
}

const char *tdt_outcome_symbol(tdt_outcome o)
{
    static const char *const s[] = {"UNKNOWN", "IDENTIFIED_AS_MONITORING_OBJECT",
                                    "ALREADY_MONITORED", "DISMISSED", "COULD_NOT_REACH",
                                    "DEPARTMENT_DATA_WRONG"};
    return (unsigned)o < TDT_OUTCOME_N ? s[o] : s[0];
}

const char *tdt_outcome_words(tdt_outcome o)
{
    static const char *const s[] = {"未知", "识别为监测对象", "已是监测对象", "排除",
                                    "无法联系", "部门数据有误"};
    return (unsigned)o < TDT_OUTCOME_N ? s[o] : s[0];
}

const char *tdt_category_words(const char *s)
{
    if (!s)
        return NULL;
    if (strcmp(s, "UNSTABLE_ALLEVIATED") == 0)
        return "脱贫不稳定户";
    if (strcmp(s, "MARGINAL") == 0)
        return "边缘易致贫户";
    if (strcmp(s, "SUDDEN_HARDSHIP") == 0)
        return "突发严重困难户";
    return "未知";
}

int64_t tdt_share_bp(size_t part, size_t whole)
{
    if (whole == 0)
        return -1;
    return (int64_t)(((unsigned long long)part * 20000ull + whole) / (2ull * whole));
}

/* ---- the roster ---- */

typedef struct tdt_hh {
    char *id;
    char county[7];
    char village[13];
    int state;
    size_t persons;
    bool live;
} tdt_hh;

struct tdt_roster {
    tdt_hh *v;
    size_t n, cap;
    tdt_map map;
};

static const char *tdt_roster_key(const tdt_roster *r, size_t i)
{
    return r->v[i].id;
}

int tdt_roster_new(tdt_roster **ret)
{
    tdt_roster *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    r->map.cap = 256;
    r->map.slots = calloc(r->map.cap, sizeof(size_t));
    if (!r->map.slots) {
        free(r);
        return -ENOMEM;
    }
    *ret = r;
    return 0;
}

tdt_roster *tdt_roster_free(tdt_roster *r)
{
    if (!r)
        return NULL;
    for (size_t i = 0; i < r->n; i++)
        free(r->v[i].id);
    free(r->v);
    free(r->map.slots);
    free(r);
    return NULL;
}

int tdt_roster_apply(tdt_roster *r, const char *id, const char *village, int state,
                     size_t persons)
{
    size_t s;
    tdt_hh *h;

    if (!id)
        return -EINVAL;
    TDT_MAP_SLOT(&r->map, id, tdt_roster_key, r, s);
    if (r->map.slots[s]) {
        h = &r->v[r->map.slots[s] - 1];
    } else {
        if (!village)
            return 0; /* tombstone of a household never seen */
        if ((r->n + 1) * 2 > r->map.cap) {
            size_t nc = r->map.cap * 2, s2;
            tdt_map nm = {calloc(nc, sizeof(size_t)), nc};
            if (!nm.slots)
                return -ENOMEM;
            for (size_t i = 0; i < r->n; i++) {
                TDT_MAP_SLOT(&nm, r->v[i].id, tdt_roster_key, r, s2);
                nm.slots[s2] = i + 1;
            }
            free(r->map.slots);
            r->map = nm;
            TDT_MAP_SLOT(&r->map, id, tdt_roster_key, r, s);
        }
        if (r->n == r->cap) {
            size_t nc = r->cap ? r->cap * 2 : 256;
            tdt_hh *nv = realloc(r->v, nc * sizeof(*nv));
            if (!nv)
                return -ENOMEM;
            r->v = nv;
            r->cap = nc;
        }
        h = &r->v[r->n];
        memset(h, 0, sizeof(*h));
        h->id = strdup(id);
        if (!h->id)
            return -ENOMEM;
        r->map.slots[s] = ++r->n;
    }
    h->live = village != NULL;
    h->state = state;
    h->persons = village ? persons : 0;
    memset(h->county, 0, sizeof(h->county));
    memset(h->village, 0, sizeof(h->village));
    if (village) {
        memcpy(h->county, village, strnlen(village, 6));
        memcpy(h->village, village, strnlen(village, 12));
    }
    return 0;
}

size_t tdt_roster_count(const tdt_roster *r)
{
    size_t n = 0;
    for (size_t i = 0; r && i < r->n; i++)
        n += r->v[i].live;
    return n;
}

size_t tdt_roster_persons(const tdt_roster *r, const char *code)
{
    size_t n = 0, cl = code ? strlen(code) : 0;
    for (size_t i = 0; r && i < r->n; i++)
        if (r->v[i].live && strncmp(r->v[i].village, code, cl) == 0)
            n += r->v[i].persons;
    return n;
}

void tdt_roster_each(const tdt_roster *r,
                     void (*fn)(const char *village, size_t persons, void *opaque), void *opaque)
{
    for (size_t i = 0; r && i < r->n; i++)
        if (r->v[i].live)
            fn(r->v[i].village, r->v[i].persons, opaque);
}

void tdt_roster_stats(const tdt_roster *r, const char *county, tdt_stats *s)
{
    for (size_t i = 0; r && i < r->n; i++) {
        const tdt_hh *h = &r->v[i];
        if (!h->live || (county && strcmp(h->county, county) != 0))
            continue;
        if (h->state == TDT_MON_MONITORED || h->state == TDT_MON_ELIMINATED)
            s->monitored++;
        if (h->state == TDT_MON_ELIMINATED)
            s->eliminated++;
    }
}

int tdt_household_from_avro(const avro_value_t *v, const char **ret_id, const char **ret_village,
                            int *ret_state, size_t *ret_persons, td_error *err)
{
    const char *id, *village, *state;
    avro_value_t mon, members;
    size_t persons = 0;
    int st = TDT_MON_UNKNOWN;

    if (tdt_get_str(v, "household_id", &id, err) < 0 ||
        tdt_get_str(v, "village_code", &village, err) < 0)
        return -EINVAL;
    if (avro_value_get_by_name(v, "monitoring", &mon, NULL) != 0)
        return td_error_set(err, -EINVAL, "Household: no field monitoring");
    if (tdt_get_enum(&mon, "state", &state, err) < 0)
        return -EINVAL;
    if (strcmp(state, "NOT_MONITORED") == 0)
        st = TDT_MON_NOT_MONITORED;
    else if (strcmp(state, "MONITORED") == 0)
        st = TDT_MON_MONITORED;
    else if (strcmp(state, "RISK_ELIMINATED") == 0)
        st = TDT_MON_ELIMINATED;
    if (ret_persons) {
        if (avro_value_get_by_name(v, "members", &members, NULL) != 0 ||
            avro_value_get_size(&members, &persons) != 0)
            return td_error_set(err, -EINVAL, "Household: no array members");
        *ret_persons = persons;
    }
    *ret_id = id;
    *ret_village = village;
    *ret_state = st;
    return 0;
}

/* ---- the suspect list (疑点数据清单) ---- */

struct tdt_suspects {
    tdt_suspect *v;
    size_t n, cap;
    tdt_map map;
};

static const char *tdt_suspects_key(const tdt_suspects *l, size_t i)
{
    return l->v[i].suspect_id;
}

int tdt_suspects_new(tdt_suspects **ret)
{
    tdt_suspects *l = calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    l->map.cap = 64;
    l->map.slots = calloc(l->map.cap, sizeof(size_t));
    if (!l->map.slots) {
        free(l);
        return -ENOMEM;
    }
    *ret = l;
    return 0;
}

/* Frees every string but the id. */
static void tdt_suspect_clear(tdt_suspect *s)
{
    char **f[] = {&s->indicator_id, &s->indicator_name, &s->fix_hint, &s->household_id,
                  &s->village_code, &s->township_code, &s->county_code, &s->head_name,
                  &s->person_name, &s->roster_value, &s->department_value, &s->reason,
                  &s->outcome_id};
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
        free(*f[i]);
        *f[i] = NULL;
    }
}

tdt_suspects *tdt_suspects_free(tdt_suspects *l)
{
    if (!l)
        return NULL;
    for (size_t i = 0; i < l->n; i++) {
        tdt_suspect_clear(&l->v[i]);
        free(l->v[i].suspect_id);
    }
    free(l->v);
    free(l->map.slots);
    free(l);
    return NULL;
}

static tdt_suspect *tdt_suspects_lookup(const tdt_suspects *l, const char *id)
{
    size_t s;
    TDT_MAP_SLOT(&l->map, id, tdt_suspects_key, l, s);
    return l->map.slots[s] ? &l->v[l->map.slots[s] - 1] : NULL;
}

static tdt_suspect *tdt_suspects_insert(tdt_suspects *l, const char *id)
{
    size_t s;
    if ((l->n + 1) * 2 > l->map.cap) {
        size_t nc = l->map.cap * 2;
        tdt_map nm = {calloc(nc, sizeof(size_t)), nc};
        if (!nm.slots)
            return NULL;
        for (size_t i = 0; i < l->n; i++) {
            TDT_MAP_SLOT(&nm, l->v[i].suspect_id, tdt_suspects_key, l, s);
            nm.slots[s] = i + 1;
        }
        free(l->map.slots);
        l->map = nm;
    }
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 64;
        tdt_suspect *nv = realloc(l->v, nc * sizeof(*nv));
        if (!nv)
            return NULL;
        l->v = nv;
        l->cap = nc;
    }
    memset(&l->v[l->n], 0, sizeof(l->v[l->n]));
    l->v[l->n].suspect_id = strdup(id);
    if (!l->v[l->n].suspect_id)
        return NULL;
    l->v[l->n].order = l->n;
    TDT_MAP_SLOT(&l->map, id, tdt_suspects_key, l, s);
    l->map.slots[s] = l->n + 1;
    return &l->v[l->n++];
}

/* *dst = copy of src, NULL for NULL (a snapshot replaces everything). */
static int tdt_take(char **dst, const char *src)
{
    *dst = NULL;
    if (!src)
        return 0;
    *dst = strdup(src);
    return *dst ? 0 : -ENOMEM;
}

int tdt_suspects_apply(tdt_suspects *l, const tdt_suspect_msg *m, const tdt_suspect **ret)
{
    tdt_suspect *s, n;
    int r = 0;

    if (ret)
        *ret = NULL;
    if (!l || !m || !m->suspect_id || !*m->suspect_id)
        return -EINVAL;
    if (m->kind == TDT_SUSPECT_UNKNOWN)
        return 0;
    /* The new snapshot first, so that out of memory leaves the old one. */
    memset(&n, 0, sizeof(n));
    r |= tdt_take(&n.indicator_id, m->indicator_id);
    r |= tdt_take(&n.indicator_name, m->indicator_name);
    r |= tdt_take(&n.fix_hint, m->fix_hint);
    r |= tdt_take(&n.household_id, m->household_id);
    r |= tdt_take(&n.village_code, m->village_code);
    r |= tdt_take(&n.township_code, m->township_code);
    r |= tdt_take(&n.county_code, m->county_code);
    r |= tdt_take(&n.head_name, m->head_name);
    r |= tdt_take(&n.person_name, m->person_name);
    r |= tdt_take(&n.roster_value, m->roster_value);
    r |= tdt_take(&n.department_value, m->department_value);
    if (m->kind == TDT_SUSPECT_CLOSED && m->has_closure) {
        r |= tdt_take(&n.reason, m->reason);
        r |= tdt_take(&n.outcome_id, m->outcome_id);
    }
    s = r ? NULL : tdt_suspects_lookup(l, m->suspect_id);
    if (!r && !s)
        s = tdt_suspects_insert(l, m->suspect_id);
    if (!s) {
        tdt_suspect_clear(&n);
        return -ENOMEM;
    }
    n.suspect_id = s->suspect_id;
    n.order = s->order;
    tdt_suspect_clear(s);
    n.raised_at = m->raised_at;
    n.fix_due_date = m->fix_due_date;
    switch (m->kind) {
    case TDT_SUSPECT_RAISED:
        n.state = TDT_SSTATE_OPEN;
        break;
    case TDT_SUSPECT_RESOLVED:
        n.state = TDT_SSTATE_RESOLVED;
        /* a resolution without its record (never written so): the day it came */
        n.resolved_at = m->has_resolution ? m->resolved_at : m->raised_at;
        break;
    case TDT_SUSPECT_CLOSED:
        n.state = TDT_SSTATE_CLOSED;
        n.outcome = m->has_closure ? m->outcome : TDT_OUTCOME_UNKNOWN;
        n.recorded_at = m->has_closure ? m->recorded_at : m->raised_at;
        break;
    case TDT_SUSPECT_UNKNOWN:
        break;
    }
    *s = n;
    if (ret)
        *ret = s;
    return 0;
}

size_t tdt_suspects_count(const tdt_suspects *l)
{
    return l ? l->n : 0;
}

const tdt_suspect *tdt_suspects_at(const tdt_suspects *l, size_t i)
{
    return l && i < l->n ? &l->v[i] : NULL;
}

bool tdt_suspect_id_is(const char *id)
{
    return id && strncmp(id, "sus-", 4) == 0;
}

int tdt_suspects_resolve(const tdt_suspects *l, const char *id, const tdt_suspect **ret,
                         size_t max, size_t *ret_n)
{
    const tdt_suspect *exact = l && id ? tdt_suspects_lookup(l, id) : NULL;
    size_t n = 0, idl = id ? strlen(id) : 0;

    if (exact) {
        if (max > 0)
            ret[0] = exact;
        *ret_n = 1;
        return 0;
    }
    for (size_t i = 0; l && idl > 0 && i < l->n; i++)
        if (strncmp(l->v[i].suspect_id, id, idl) == 0) {
            if (n < max)
                ret[n] = &l->v[i];
            n++;
        }
    *ret_n = n;
    if (n == 0)
        return -ENOENT;
    if (idl < TDT_SUSPECT_PREFIX_MIN)
        return -EINVAL;
    return n == 1 ? 0 : -ENOTUNIQ;
}

bool tdt_suspect_overdue(const tdt_suspect *s, int32_t today)
{
    return s->state == TDT_SSTATE_OPEN && today > s->fix_due_date;
}

const char *tdt_suspect_state_words(const tdt_suspect *s, int32_t today)
{
    switch (s->state) {
    case TDT_SSTATE_OPEN:
        return tdt_suspect_overdue(s, today) ? "逾期未整改" : "待整改";
    case TDT_SSTATE_RESOLVED:
        return "整改到位";
    case TDT_SSTATE_CLOSED:
        return "部门数据有误";
    }
    return "未知";
}

const char *tdt_suspect_state_symbol(const tdt_suspect *s, int32_t today)
{
    switch (s->state) {
    case TDT_SSTATE_OPEN:
        return tdt_suspect_overdue(s, today) ? "overdue" : "open";
    case TDT_SSTATE_RESOLVED:
        return "resolved";
    case TDT_SSTATE_CLOSED:
        return "closed";
    }
    return "unknown";
}

static int tdt_strcmp_null(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "");
}

static int tdt_suspect_cmp(const void *x, const void *y)
{
    const tdt_suspect *a = *(const tdt_suspect *const *)x, *b = *(const tdt_suspect *const *)y;
    int c;
    if ((c = tdt_strcmp_null(a->township_code, b->township_code)) != 0 ||
        (c = tdt_strcmp_null(a->village_code, b->village_code)) != 0 ||
        (c = tdt_strcmp_null(a->household_id, b->household_id)) != 0 ||
        (c = tdt_strcmp_null(a->person_name, b->person_name)) != 0)
        return c;
    if (a->raised_at != b->raised_at)
        return a->raised_at < b->raised_at ? -1 : 1;
    return strcmp(a->suspect_id, b->suspect_id);
}

int tdt_suspects_select(const tdt_suspects *l, bool all, const char *township,
                        const char *village, const tdt_suspect ***ret, size_t *ret_n)
{
    size_t cnt = tdt_suspects_count(l), n = 0;
    const tdt_suspect **v = malloc((cnt ? cnt : 1) * sizeof(*v));
    if (!v)
        return -ENOMEM;
    for (size_t i = 0; i < cnt; i++) {
        const tdt_suspect *s = &l->v[i];
        if (!all && s->state != TDT_SSTATE_OPEN)
            continue;
        if (township && tdt_strcmp_null(s->township_code, township) != 0)
            continue;
        if (village && tdt_strcmp_null(s->village_code, village) != 0)
            continue;
        v[n++] = s;
    }
    qsort(v, n, sizeof(*v), tdt_suspect_cmp);
    *ret = v;
    *ret_n = n;
    return 0;
}

/* A ["null", record] field: *present false for null. */
static int tdt_get_opt_record(const avro_value_t *v, const char *name, avro_value_t *ret,
                              bool *present, td_error *err)
{
    avro_value_t f;
    if (tdt_field(v, name, &f, err) < 0)
        return -EINVAL;
    if (avro_value_get_current_branch(&f, ret) != 0)
        return td_error_set(err, -EINVAL, "%s: not a union", name);
    *present = avro_value_get_type(ret) != AVRO_NULL;
    return 0;
}

int tdt_suspect_msg_from_avro(const avro_value_t *v, tdt_suspect_msg *ret, td_error *err)
{
    tdt_suspect_msg m;
    avro_value_t f, b;
    const char *kind = NULL;
    bool present;
    int32_t i32;
    int64_t i64;

    memset(&m, 0, sizeof(m));
    if (tdt_get_str(v, "suspect_id", &m.suspect_id, err) < 0 ||
        tdt_get_enum(v, "kind", &kind, err) < 0 ||
        tdt_get_str(v, "indicator_id", &m.indicator_id, err) < 0 ||
        tdt_get_str(v, "indicator_name", &m.indicator_name, err) < 0 ||
        tdt_get_str(v, "fix_hint", &m.fix_hint, err) < 0 ||
        tdt_get_str(v, "household_id", &m.household_id, err) < 0 ||
        tdt_get_str(v, "village_code", &m.village_code, err) < 0 ||
        tdt_get_str(v, "township_code", &m.township_code, err) < 0 ||
        tdt_get_str(v, "county_code", &m.county_code, err) < 0 ||
        tdt_get_opt_str(v, "head_name", &m.head_name, err) < 0 ||
        tdt_get_opt_str(v, "person_name", &m.person_name, err) < 0 ||
        tdt_get_opt_str(v, "roster_value", &m.roster_value, err) < 0 ||
        tdt_get_opt_str(v, "department_value", &m.department_value, err) < 0)
        return -EINVAL;
    if (strcmp(kind, "RAISED") == 0)
        m.kind = TDT_SUSPECT_RAISED;
    else if (strcmp(kind, "RESOLVED") == 0)
        m.kind = TDT_SUSPECT_RESOLVED;
    else if (strcmp(kind, "CLOSED") == 0)
        m.kind = TDT_SUSPECT_CLOSED;
    if (tdt_field(v, "raised_at", &f, err) < 0 || avro_value_get_long(&f, &i64) != 0)
        return td_error_set(err, -EINVAL, "Suspect: bad raised_at");
    m.raised_at = i64;
    if (tdt_field(v, "fix_due_date", &f, err) < 0 || avro_value_get_int(&f, &i32) != 0)
        return td_error_set(err, -EINVAL, "Suspect: bad fix_due_date");
    m.fix_due_date = i32;
    if (tdt_get_opt_record(v, "resolution", &b, &present, err) < 0)
        return -EINVAL;
    if (present) {
        if (tdt_field(&b, "resolved_at", &f, err) < 0 || avro_value_get_long(&f, &i64) != 0)
            return td_error_set(err, -EINVAL, "Suspect: bad resolution.resolved_at");
        m.has_resolution = true;
        m.resolved_at = i64;
    }
    if (tdt_get_opt_record(v, "closure", &b, &present, err) < 0)
        return -EINVAL;
    if (present) {
        const char *outcome = NULL;
        m.has_closure = true;
        if (tdt_get_enum(&b, "outcome", &outcome, err) < 0 ||
            tdt_get_opt_str(&b, "reason", &m.reason, err) < 0 ||
            tdt_get_str(&b, "outcome_id", &m.outcome_id, err) < 0)
            return -EINVAL;
        m.outcome = tdt_outcome_from_symbol(outcome);
        if (tdt_field(&b, "recorded_at", &f, err) < 0 || avro_value_get_long(&f, &i64) != 0)
            return td_error_set(err, -EINVAL, "Suspect: bad closure.recorded_at");
        m.recorded_at = i64;
    }
    *ret = m;
    return 0;
}

/* ---- data quality (report --quality) ---- */

void tdt_quality_add(tdt_quality *q, const tdt_suspect *s, int32_t from, int32_t to)
{
    int32_t raised = tdt_day_cst(s->raised_at), end = INT32_MAX;

    if (raised >= from && raised <= to)
        q->raised++;
    if (s->state == TDT_SSTATE_RESOLVED)
        end = tdt_day_cst(s->resolved_at);
    else if (s->state == TDT_SSTATE_CLOSED)
        end = tdt_day_cst(s->recorded_at);
    if (raised <= to && end > to)
        q->open++;
    if (end < from || end > to)
        return;
    if (s->state == TDT_SSTATE_RESOLVED) {
        q->resolved++;
        if (end <= s->fix_due_date)
            q->resolved_in_time++;
    } else if (s->state == TDT_SSTATE_CLOSED) {
        q->closed++;
    }
}

int64_t tdt_per_mille_x100(size_t part, size_t whole)
{
    if (whole == 0)
        return -1;
    return (int64_t)(((unsigned long long)part * 200000ull + whole) / (2ull * whole));
}

static int tdt_quality_row_cmp(const void *x, const void *y)
{
    const tdt_quality_row *a = x, *b = y;
    if (a->rate != b->rate) {
        if (a->rate < 0 || b->rate < 0)
            return a->rate < 0 ? 1 : -1; /* no roster persons: last */
        return a->rate < b->rate ? -1 : 1;
    }
    if (a->q.open != b->q.open)
        return a->q.open < b->q.open ? -1 : 1;
    return strcmp(a->code, b->code);
}

void tdt_quality_rank(tdt_quality_row *v, size_t n)
{
    if (n == 0)
        return; /* v may be NULL: a county without townships */
    for (size_t i = 0; i < n; i++)
        v[i].rate = tdt_per_mille_x100(v[i].q.open, v[i].q.persons);
    qsort(v, n, sizeof(*v), tdt_quality_row_cmp);
    for (size_t i = 0; i < n; i++)
        v[i].rank = i > 0 && v[i].rate == v[i - 1].rate ? v[i - 1].rank : i + 1;
}

typedef struct tdt_towns {
    tdt_quality_row *v;
    size_t n, cap;
    const char *county;
    int err;
} tdt_towns;

static tdt_quality_row *tdt_towns_get(tdt_towns *t, const char *township)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->v[i].code, township) == 0)
            return &t->v[i];
    if (t->n == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 16;
        tdt_quality_row *nv = realloc(t->v, nc * sizeof(*nv));
        if (!nv) {
            t->err = -ENOMEM;
            return NULL;
        }
        t->v = nv;
        t->cap = nc;
    }
    memset(&t->v[t->n], 0, sizeof(t->v[t->n]));
    snprintf(t->v[t->n].code, sizeof(t->v[t->n].code), "%.9s", township);
    return &t->v[t->n++];
}

static void tdt_towns_household(const char *village, size_t persons, void *opaque)
{
    tdt_towns *t = opaque;
    char town[10];
    tdt_quality_row *row;
    if (strncmp(village, t->county, 6) != 0 || strlen(village) < 9)
        return;
    snprintf(town, sizeof(town), "%.9s", village);
    row = tdt_towns_get(t, town);
    if (row)
        row->q.persons += persons;
}

int tdt_quality_county(const tdt_suspects *l, const tdt_roster *r, const char *county,
                       int32_t from, int32_t to, tdt_quality_row *ret_county,
                       tdt_quality_row **ret_towns, size_t *ret_ntowns)
{
    tdt_towns t = {NULL, 0, 0, county, 0};
    tdt_quality_row c;

    memset(&c, 0, sizeof(c));
    snprintf(c.code, sizeof(c.code), "%.6s", county);
    tdt_roster_each(r, tdt_towns_household, &t);
    for (size_t i = 0; !t.err && i < tdt_suspects_count(l); i++) {
        const tdt_suspect *s = &l->v[i];
        char town[10];
        tdt_quality_row *row;
        tdt_quality_add(&c.q, s, from, to);
        snprintf(town, sizeof(town), "%.9s", s->township_code ? s->township_code
                                                              : s->village_code ? s->village_code
                                                                                : "");
        if (strlen(town) != 9)
            continue; /* counted for the county only */
        row = tdt_towns_get(&t, town);
        if (row)
            tdt_quality_add(&row->q, s, from, to);
    }
    if (t.err) {
        free(t.v);
        return t.err;
    }
    c.q.persons = tdt_roster_persons(r, c.code);
    tdt_quality_rank(&c, 1);
    tdt_quality_rank(t.v, t.n);
    *ret_county = c;
    *ret_towns = t.v;
    *ret_ntowns = t.n;
    return 0;
}

int tdt_quarter_arg(const char *s, int32_t *ret_from, int32_t *ret_to, td_error *err)
{
    int y, q;
    char from[16], to[16];
    static const char *const last[] = {"03-31", "06-30", "09-30", "12-31"};
    if (!s || strlen(s) != 6 || strspn(s, "0123456789") != 4 || (s[4] != 'Q' && s[4] != 'q') ||
        s[5] < '1' || s[5] > '4')
        return td_error_set(err, -EINVAL, "--quarter %s: expected a year and quarter as YYYYQn, "
                            "e.g. 2024Q1 (January to March)", s ? s : "");
    y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    q = s[5] - '0';
    snprintf(from, sizeof(from), "%04d-%02d-01", y, 3 * q - 2);
    snprintf(to, sizeof(to), "%04d-%s", y, last[q - 1]);
    if (tdt_date_arg("--quarter", from, ret_from, err) < 0 ||
        tdt_date_arg("--quarter", to, ret_to, err) < 0)
        return -EINVAL;
    return 0;
}
