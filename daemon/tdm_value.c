/* tdm_value: see tdm_value.h. */
#include "tdm_value.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- reading ---- */

void tdm_evidence_done(tdm_evidence *e)
{
    free(e->event_type);
    free(e->person_key);
    free(e->topic);
    free(e->src_department);
    free(e->src_connector_instance);
    free(e->src_record_id);
    free(e->src_location);
}


/* strdup of s (NULL stays NULL); *oom set on failure. */
char *tdm_value_dup(const char *s, bool *oom)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *oom = true;
    return d;
}



int tdm_value_field(const avro_value_t *rec, const char *name, avro_value_t *ret)
{
    return avro_value_get_by_name(rec, name, ret, NULL) == 0 ? 0 : -EINVAL;
}

/* A field that may be a ["null", X] union: *present false for null. */
int tdm_value_opt(const avro_value_t *rec, const char *name, avro_value_t *ret, bool *present)
{
    avro_value_t v;
    if (tdm_value_field(rec, name, &v) < 0)
        return -EINVAL;
    if (avro_value_get_type(&v) == AVRO_UNION) {
        avro_value_t b;
        if (avro_value_get_current_branch(&v, &b) != 0)
            return -EINVAL;
        v = b;
    }
    *present = avro_value_get_type(&v) != AVRO_NULL;
    *ret = v;
    return 0;
}

int tdm_value_str(const avro_value_t *rec, const char *name, const char **ret)
{
    avro_value_t v;
    bool present;
    size_t size;
    if (tdm_value_opt(rec, name, &v, &present) < 0)
        return -EINVAL;
    if (!present) {
        *ret = NULL;
        return 0;
    }
    if (avro_value_get_type(&v) != AVRO_STRING || avro_value_get_string(&v, ret, &size) != 0)
        return -EINVAL;
    return 0;
}

int tdm_value_int(const avro_value_t *rec, const char *name, bool *present, int64_t *ret)
{
    avro_value_t v;
    if (tdm_value_opt(rec, name, &v, present) < 0)
        return -EINVAL;
    if (!*present)
        return 0;
    if (avro_value_get_type(&v) == AVRO_INT32) {
        int32_t i;
        if (avro_value_get_int(&v, &i) != 0)
            return -EINVAL;
        *ret = i;
        return 0;
    }
    if (avro_value_get_type(&v) == AVRO_INT64)
        return avro_value_get_long(&v, ret) == 0 ? 0 : -EINVAL;
    return -EINVAL;
}

int tdm_value_enum(const avro_value_t *rec, const char *name, const char **ret)
{
    avro_value_t v;
    bool present;
    int idx;
    if (tdm_value_opt(rec, name, &v, &present) < 0)
        return -EINVAL;
    if (!present) {
        *ret = NULL;
        return 0;
    }
    if (avro_value_get_type(&v) != AVRO_ENUM || avro_value_get_enum(&v, &idx) != 0)
        return -EINVAL;
    const char *sym = avro_schema_enum_get(avro_value_get_schema(&v), idx);
    if (!sym)
        return -EINVAL;
    *ret = sym;
    return 0;
}

int tdm_record_read(tdm_dataset dataset, const avro_value_t *value, tdm_record *r, td_error *err)
{
    const char *ds = tdm_dataset_name(dataset);
    bool present;
    int64_t v = 0;
    avro_value_t src;

    memset(r, 0, sizeof(*r));
    r->dataset = dataset;
    if (tdm_value_str(value, "person_key", &r->person_key) < 0 || !r->person_key ||
        !*r->person_key)
        return td_error_set(err, -EINVAL, "%s record: no person_key", ds);
    if (tdm_value_str(value, "name", &r->name) < 0 ||
        tdm_value_str(value, "village_code", &r->village_code) < 0)
        return td_error_set(err, -EINVAL, "%s record: bad name or village_code", ds);
    const char *date_field = dataset == TDM_DATASET_MEDICAL_INSURANCE ? "settlement_date"
                                                                     : "event_date";
    if (tdm_value_int(value, date_field, &present, &v) < 0 || !present)
        return td_error_set(err, -EINVAL, "%s record: no %s", ds, date_field);
    r->date = (int32_t)v;
    const char *type_field = dataset == TDM_DATASET_MEDICAL_INSURANCE ? "kind" : "event_type";
    if (tdm_value_enum(value, type_field, &r->event_type) < 0 || !r->event_type)
        return td_error_set(err, -EINVAL, "%s record: no %s", ds, type_field);

    switch (dataset) {
    case TDM_DATASET_MEDICAL_INSURANCE: {
        static const struct {
            const char *name;
            tdm_field f;
        } m[] = {{"out_of_pocket_fen", TDM_FIELD_OUT_OF_POCKET_FEN},
                 {"total_cost_fen", TDM_FIELD_TOTAL_COST_FEN},
                 {"fund_paid_fen", TDM_FIELD_FUND_PAID_FEN}};
        for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
            if (tdm_value_int(value, m[i].name, &present, &v) < 0 || !present)
                return td_error_set(err, -EINVAL, "%s record: no %s", ds, m[i].name);
            r->fields[m[i].f] = v;
            r->has_field[m[i].f] = true;
        }
        r->has_amount = true;
        r->amount_fen = r->fields[TDM_FIELD_OUT_OF_POCKET_FEN];
        break;
    }
    case TDM_DATASET_CIVIL_AFFAIRS:
        if (tdm_value_int(value, "amount_fen", &present, &v) < 0)
            return td_error_set(err, -EINVAL, "%s record: bad amount_fen", ds);
        if (present) {
            r->has_amount = true;
            r->amount_fen = v;
            r->fields[TDM_FIELD_AMOUNT_FEN] = v;
            r->has_field[TDM_FIELD_AMOUNT_FEN] = true;
        }
        if (tdm_value_int(value, "disability_grade", &present, &v) < 0)
            return td_error_set(err, -EINVAL, "%s record: bad disability_grade", ds);
        r->disability_grade = present && v >= 1 && v <= 4 ? (int)v : 0;
        break;
    case TDM_DATASET_HUMAN_RESOURCES:
        break;
    default:
        return td_error_set(err, -EINVAL, "not a department dataset: %d", (int)dataset);
    }

    if (tdm_value_field(value, "source", &src) < 0 ||
        tdm_value_enum(&src, "department", &r->src_department) < 0 ||
        tdm_value_str(&src, "connector_instance", &r->src_instance) < 0 ||
        tdm_value_str(&src, "record_id", &r->src_record_id) < 0 ||
        tdm_value_str(&src, "location", &r->src_location) < 0 ||
        tdm_value_int(&src, "row", &r->has_src_row, &r->src_row) < 0 || !r->src_department ||
        !r->src_instance || !r->src_record_id || !*r->src_record_id)
        return td_error_set(err, -EINVAL, "%s record: bad source", ds);
    return 0;
}


const char *tdm_dataset_symbol(tdm_dataset d)
{
    switch (d) {
    case TDM_DATASET_HOUSEHOLD:
        return "ROSTER";
    case TDM_DATASET_MEDICAL_INSURANCE:
        return "MEDICAL_INSURANCE";
    case TDM_DATASET_CIVIL_AFFAIRS:
        return "CIVIL_AFFAIRS";
    case TDM_DATASET_HUMAN_RESOURCES:
        return "HUMAN_RESOURCES";
    default:
        return "UNKNOWN";
    }
}


/* s with leading and trailing ASCII white space removed, as [*b, *e). */
void tdm_value_trim(const char *s, const char **b, const char **e)
{
    const char *p = s, *q = s + strlen(s);
    while (p < q && (*p == ' ' || (*p >= '\t' && *p <= '\r')))
        p++;
    while (q > p && (q[-1] == ' ' || (q[-1] >= '\t' && q[-1] <= '\r')))
        q--;
    *b = p;
    *e = q;
}



avro_value_t *tdm_fill_get(tdm_filler *f, avro_value_t *rec, const char *name, avro_value_t *ret)
{
    if (f->rc == 0 && avro_value_get_by_name(rec, name, ret, NULL) != 0) {
        f->rc = td_error_set(f->err, -EINVAL, "%s: no field %s", f->what, name);
    }
    return ret;
}

void tdm_fill_str(tdm_filler *f, avro_value_t *rec, const char *name, const char *s)
{
    avro_value_t v;
    tdm_fill_get(f, rec, name, &v);
    if (f->rc == 0 && avro_value_set_string(&v, s ? s : "") != 0)
        f->rc = td_error_set(f->err, -EINVAL, "%s.%s: cannot set", f->what, name);
}

/* The non-null branch of union field name, or NULL after setting null. */
bool tdm_fill_branch(tdm_filler *f, avro_value_t *rec, const char *name, bool present,
                       avro_value_t *ret)
{
    avro_value_t u;
    tdm_fill_get(f, rec, name, &u);
    if (f->rc != 0)
        return false;
    if (avro_value_set_branch(&u, present ? 1 : 0, ret) != 0 ||
        (!present && avro_value_set_null(ret) != 0)) {
        f->rc = td_error_set(f->err, -EINVAL, "%s.%s: cannot set the union", f->what, name);
        return false;
    }
    return present;
}

void tdm_fill_opt_str(tdm_filler *f, avro_value_t *rec, const char *name, const char *s)
{
    avro_value_t b;
    if (tdm_fill_branch(f, rec, name, s != NULL, &b) && avro_value_set_string(&b, s) != 0)
        f->rc = td_error_set(f->err, -EINVAL, "%s.%s: cannot set", f->what, name);
}

void tdm_fill_enum_value(tdm_filler *f, avro_value_t *v, const char *name, const char *sym)
{
    if (f->rc != 0)
        return;
    int idx = avro_schema_enum_get_by_name(avro_value_get_schema(v), sym);
    if (idx < 0 || avro_value_set_enum(v, idx) != 0)
        f->rc = td_error_set(f->err, -EINVAL, "%s.%s: no symbol %s", f->what, name, sym);
}

void tdm_fill_enum(tdm_filler *f, avro_value_t *rec, const char *name, const char *sym)
{
    avro_value_t v;
    tdm_fill_get(f, rec, name, &v);
    tdm_fill_enum_value(f, &v, name, sym);
}

void tdm_fill_opt_enum(tdm_filler *f, avro_value_t *rec, const char *name, const char *sym)
{
    avro_value_t b;
    if (tdm_fill_branch(f, rec, name, sym != NULL, &b))
        tdm_fill_enum_value(f, &b, name, sym);
}

void tdm_fill_long(tdm_filler *f, avro_value_t *rec, const char *name, int64_t x)
{
    avro_value_t v;
    tdm_fill_get(f, rec, name, &v);
    if (f->rc == 0 && avro_value_set_long(&v, x) != 0)
        f->rc = td_error_set(f->err, -EINVAL, "%s.%s: cannot set", f->what, name);
}

void tdm_fill_int(tdm_filler *f, avro_value_t *rec, const char *name, int32_t x)
{
    avro_value_t v;
    tdm_fill_get(f, rec, name, &v);
    if (f->rc == 0 && avro_value_set_int(&v, x) != 0)
        f->rc = td_error_set(f->err, -EINVAL, "%s.%s: cannot set", f->what, name);
}

void tdm_fill_source(tdm_filler *f, avro_value_t *rec, const char *department,
                       const char *instance, const char *record_id, const char *location,
                       bool has_row, int64_t row)
{
    avro_value_t src, b;
    tdm_fill_get(f, rec, "source", &src);
    if (f->rc != 0)
        return;
    tdm_fill_enum(f, &src, "department", department ? department : "UNKNOWN");
    tdm_fill_str(f, &src, "connector_instance", instance);
    tdm_fill_str(f, &src, "record_id", record_id);
    tdm_fill_opt_str(f, &src, "location", location);
    if (tdm_fill_branch(f, &src, "row", has_row, &b) && avro_value_set_long(&b, row) != 0)
        f->rc = td_error_set(f->err, -EINVAL, "%s.source.row: cannot set", f->what);
}


void tdm_record_evidence(const tdm_record *r, const tdm_coords *coords, tdm_evidence *ret)
{
    *ret = (tdm_evidence){
        .dataset = r->dataset,
        .event_type = (char *)r->event_type,
        .person_key = (char *)r->person_key,
        .has_event_date = true,
        .event_date = r->date,
        .has_amount = r->has_amount,
        .amount_fen = r->amount_fen,
        .topic = coords ? (char *)coords->topic : NULL,
        .partition = coords ? coords->partition : 0,
        .offset = coords ? coords->offset : 0,
        .src_department = (char *)r->src_department,
        .src_connector_instance = (char *)r->src_instance,
        .src_record_id = (char *)r->src_record_id,
        .src_location = (char *)r->src_location,
        .has_src_row = r->has_src_row,
        .src_row = r->src_row,
    };
}

/* ---- outcomes ---- */

static const char *const OUTCOME_SYMS[] = {"UNKNOWN", "IDENTIFIED_AS_MONITORING_OBJECT",
                                           "ALREADY_MONITORED", "DISMISSED",
                                           "COULD_NOT_REACH", "DEPARTMENT_DATA_WRONG"};
static const char *const CATEGORY_SYMS[] = {"UNKNOWN", "UNSTABLE_ALLEVIATED", "MARGINAL",
                                            "SUDDEN_HARDSHIP"};

const char *tdm_outcome_symbol(tdm_outcome o)
{
    return (unsigned)o < sizeof(OUTCOME_SYMS) / sizeof(OUTCOME_SYMS[0]) ? OUTCOME_SYMS[o]
                                                                        : "UNKNOWN";
}

int tdm_outcome_read(const avro_value_t *value, tdm_outcome_in *ret, td_error *err)
{
    const char *outcome_sym, *category_sym, *verifier, *reviewer;
    int64_t visit_date = 0;
    bool present_v, present_r;
    avro_value_t src;
    tdm_outcome_in o;

    memset(&o, 0, sizeof(o));
    if (tdm_value_str(value, "alert_id", &o.alert_id) < 0 || !o.alert_id ||
        tdm_value_enum(value, "outcome", &outcome_sym) < 0 || !outcome_sym ||
        tdm_value_enum(value, "category", &category_sym) < 0 ||
        tdm_value_str(value, "reason", &o.reason) < 0 ||
        tdm_value_str(value, "verifier", &verifier) < 0 ||
        tdm_value_str(value, "reviewer", &reviewer) < 0 || !verifier || !reviewer ||
        tdm_value_int(value, "visit_date", &present_v, &visit_date) < 0 || !present_v ||
        tdm_value_int(value, "recorded_at", &present_r, &o.recorded_at) < 0 || !present_r ||
        tdm_value_field(value, "source", &src) < 0 ||
        tdm_value_str(&src, "record_id", &o.outcome_id) < 0 || !o.outcome_id)
        return td_error_set(err, -EINVAL, "verification outcome: missing or bad field");
    o.visit_date = (int32_t)visit_date;

    for (size_t i = 1; i < sizeof(OUTCOME_SYMS) / sizeof(OUTCOME_SYMS[0]); i++)
        if (strcmp(outcome_sym, OUTCOME_SYMS[i]) == 0)
            o.outcome = (tdm_outcome)i;
    o.category = TDM_CATEGORY_NONE;
    if (category_sym)
        for (size_t i = 1; i < sizeof(CATEGORY_SYMS) / sizeof(CATEGORY_SYMS[0]); i++)
            if (strcmp(category_sym, CATEGORY_SYMS[i]) == 0)
                o.category = (tdm_category)i;

    const char *vb, *ve, *rb, *re, *tb, *te;
    tdm_value_trim(verifier, &vb, &ve);
    tdm_value_trim(reviewer, &rb, &re);
    if (vb == ve || rb == re)
        return td_error_set(err, -EPERM,
                            "two-person rule: verifier and reviewer are both required");
    if (ve - vb == re - rb && memcmp(vb, rb, (size_t)(ve - vb)) == 0)
        return td_error_set(err, -EPERM,
                            "two-person rule: verifier and reviewer are the same person");
    if (o.outcome == TDM_OUTCOME_UNKNOWN)
        return td_error_set(err, -EINVAL, "verification outcome: unknown outcome");
    tdm_value_trim(o.reason ? o.reason : "", &tb, &te);
    o.has_reason = tb != te;
    *ret = o;
    return 0;
}

/* ---- evidence ---- */

int tdm_evidence_copy(tdm_evidence *d, const tdm_evidence *e)
{
    bool oom = false;
    *d = *e;
    d->event_type = tdm_value_dup(e->event_type, &oom);
    d->person_key = tdm_value_dup(e->person_key, &oom);
    d->topic = tdm_value_dup(e->topic ? e->topic : "", &oom);
    d->src_department = tdm_value_dup(e->src_department, &oom);
    d->src_connector_instance = tdm_value_dup(e->src_connector_instance, &oom);
    d->src_record_id = tdm_value_dup(e->src_record_id, &oom);
    d->src_location = tdm_value_dup(e->src_location, &oom);
    return oom ? -ENOMEM : 0;
}

void tdm_fill_evidence(tdm_filler *f, avro_value_t *item, const tdm_evidence *e)
{
    avro_value_t b;
    tdm_fill_enum(f, item, "dataset", tdm_dataset_symbol(e->dataset));
    tdm_fill_opt_str(f, item, "event_type", e->event_type);
    tdm_fill_opt_str(f, item, "person_key", e->person_key);
    if (tdm_fill_branch(f, item, "event_date", e->has_event_date, &b) &&
        avro_value_set_int(&b, e->event_date) != 0)
        f->rc = td_error_set(f->err, -EINVAL, "%s.evidence.event_date: cannot set", f->what);
    if (tdm_fill_branch(f, item, "amount_fen", e->has_amount, &b) &&
        avro_value_set_long(&b, e->amount_fen) != 0)
        f->rc = td_error_set(f->err, -EINVAL, "%s.evidence.amount_fen: cannot set", f->what);
    tdm_fill_str(f, item, "topic", e->topic);
    tdm_fill_int(f, item, "partition", e->partition);
    tdm_fill_long(f, item, "offset", e->offset);
    tdm_fill_source(f, item, e->src_department, e->src_connector_instance, e->src_record_id,
                    e->src_location, e->has_src_row, e->src_row);
}

void tdm_fill_closure(tdm_filler *f, avro_value_t *b, const tdm_closure *c)
{
    tdm_fill_enum(f, b, "outcome", tdm_outcome_symbol(c->outcome));
    tdm_fill_opt_enum(f, b, "category",
                      c->category == TDM_CATEGORY_NONE ? NULL : tdm_category_symbol(c->category));
    tdm_fill_opt_str(f, b, "reason", c->reason);
    tdm_fill_int(f, b, "visit_date", c->visit_date);
    tdm_fill_long(f, b, "recorded_at", c->recorded_at);
    tdm_fill_str(f, b, "outcome_id", c->outcome_id);
}
