/* tdt_fold: the alert queue folded from a county topic, the roster's
 * monitoring states, and the report's figures. */
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
        return td_error_set(err, -EINVAL, "Alert: no field %s", name);
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
                                    "ALREADY_MONITORED", "DISMISSED", "COULD_NOT_REACH"};
    return (unsigned)o < TDT_OUTCOME_N ? s[o] : s[0];
}

const char *tdt_outcome_words(tdt_outcome o)
{
    static const char *const s[] = {"未知", "识别为监测对象", "已是监测对象", "排除",
                                    "无法联系"};
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
    int state;
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

int tdt_roster_apply(tdt_roster *r, const char *id, const char *village, int state)
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
    memset(h->county, 0, sizeof(h->county));
    if (village)
        memcpy(h->county, village, strnlen(village, 6));
    return 0;
}

size_t tdt_roster_count(const tdt_roster *r)
{
    size_t n = 0;
    for (size_t i = 0; r && i < r->n; i++)
        n += r->v[i].live;
    return n;
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
                            int *ret_state, td_error *err)
{
    const char *id, *village, *state;
    avro_value_t mon;
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
    *ret_id = id;
    *ret_village = village;
    *ret_state = st;
    return 0;
}
