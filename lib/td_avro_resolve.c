/* td_avro_resolve: schema resolution (the Avro specification's rules), done
 * here because Avro C 1.11's resolver fails when the reader adds a field with
 * a default.
 *
 * A plan is compiled once per (reader, writer) pair: for records, which
 * writer field feeds each reader field (or the reader's default); for enums, a
 * symbol map; for unions, the reader branch each writer branch goes to. Applying
 * it copies a writer value into a reader value without looking at names. */
#include "td_avro.h"
#include "td_avro_private.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum td_plan_kind {
    TD_PLAN_COPY,        /* same primitive type */
    TD_PLAN_INT_LONG,
    TD_PLAN_INT_FLOAT,
    TD_PLAN_INT_DOUBLE,
    TD_PLAN_LONG_FLOAT,
    TD_PLAN_LONG_DOUBLE,
    TD_PLAN_FLOAT_DOUBLE,
    TD_PLAN_STRING_BYTES,
    TD_PLAN_BYTES_STRING,
    TD_PLAN_FIXED,
    TD_PLAN_ENUM,
    TD_PLAN_RECORD,
    TD_PLAN_ARRAY,       /* sub[0]: the items */
    TD_PLAN_MAP,         /* sub[0]: the values */
    TD_PLAN_TO_UNION,    /* writer not a union: reader branch rbranch, then sub[0] */
    TD_PLAN_FROM_UNION,  /* writer a union: sub[i] per writer branch, NULL if unreadable */
} td_plan_kind;

typedef enum td_plan_state {
    TD_PLAN_BUILDING,
    TD_PLAN_OK,
    TD_PLAN_FAILED,
} td_plan_state;

struct td_avro_plan {
    td_plan_kind kind;
    td_plan_state state;
    const td_avro_node *r, *w;
    size_t nsub;
    td_avro_plan **sub;
    int *wfield;    /* RECORD: writer field per reader field, -1: the reader's default */
    int *symmap;    /* ENUM: reader symbol per writer symbol, -1: not in the reader */
    char **why;     /* FROM_UNION: why writer branch i cannot be read */
    int rbranch;    /* TO_UNION */
    char *failure;  /* FAILED records: the message, for a second encounter */
};

struct td_avro_planset {
    const td_avro_schema *reader, *writer;
    td_avro_plan *root;
    td_avro_plan **plans;
    size_t n, cap;
};

/* ----------------------------------------------------------------- build */

typedef struct td_builder {
    td_avro_planset *ps;
    char path[512];
    size_t pathlen;
    bool oom;
} td_builder;

static size_t td_path_push(td_builder *b, const char *sep, const char *name)
{
    size_t old = b->pathlen;
    int n = snprintf(b->path + old, sizeof(b->path) - old, "%s%s", sep, name);

    if (n > 0)
        b->pathlen = old + (size_t)n < sizeof(b->path) ? old + (size_t)n : sizeof(b->path) - 1;
    return old;
}

static void td_path_pop(td_builder *b, size_t old)
{
    b->pathlen = old;
    b->path[old] = '\0';
}

__attribute__((format(printf, 3, 4)))
static td_avro_plan *td_build_fail(td_builder *b, td_error *err, const char *fmt, ...)
{
    char msg[768];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    td_error_set(err, -EINVAL, "%s: %s", b->path, msg);
    return NULL;
}

static td_avro_plan *td_build_oom(td_builder *b, td_error *err)
{
    b->oom = true;
    td_error_set(err, -ENOMEM, "out of memory");
    return NULL;
}

static td_avro_plan *td_plan_new(td_builder *b, td_plan_kind kind, const td_avro_node *r,
                                 const td_avro_node *w, size_t nsub, td_error *err)
{
    td_avro_planset *ps = b->ps;
    td_avro_plan *p;

    if (ps->n == ps->cap) {
        size_t cap = ps->cap ? ps->cap * 2 : 16;
        td_avro_plan **np = realloc(ps->plans, cap * sizeof(*np));
        if (!np)
            return td_build_oom(b, err);
        ps->plans = np;
        ps->cap = cap;
    }
    p = calloc(1, sizeof(*p));
    if (!p || (nsub && !(p->sub = calloc(nsub, sizeof(*p->sub))))) {
        free(p);
        return td_build_oom(b, err);
    }
    ps->plans[ps->n++] = p;
    p->kind = kind;
    p->state = TD_PLAN_OK;
    p->r = r;
    p->w = w;
    p->nsub = nsub;
    return p;
}

static bool td_names_match(const td_avro_node *r, const td_avro_node *w)
{
    if (strcmp(r->name, w->name) == 0)
        return true;
    for (size_t i = 0; i < r->naliases; i++) {
        const char *a = r->aliases[i], *dot = strrchr(a, '.');
        if (strcmp(dot ? dot + 1 : a, w->name) == 0)
            return true;
    }
    return false;
}

/* Can a writer value of type w be promoted to r (different types)? */
static int td_promotion(td_avro_type w, td_avro_type r)
{
    switch (w) {
    case TD_AVRO_INT:
        return r == TD_AVRO_LONG ? TD_PLAN_INT_LONG
               : r == TD_AVRO_FLOAT ? TD_PLAN_INT_FLOAT
               : r == TD_AVRO_DOUBLE ? TD_PLAN_INT_DOUBLE
                                     : -1;
    case TD_AVRO_LONG:
        return r == TD_AVRO_FLOAT    ? TD_PLAN_LONG_FLOAT
               : r == TD_AVRO_DOUBLE ? TD_PLAN_LONG_DOUBLE
                                     : -1;
    case TD_AVRO_FLOAT:
        return r == TD_AVRO_DOUBLE ? TD_PLAN_FLOAT_DOUBLE : -1;
    case TD_AVRO_STRING:
        return r == TD_AVRO_BYTES ? TD_PLAN_STRING_BYTES : -1;
    case TD_AVRO_BYTES:
        return r == TD_AVRO_STRING ? TD_PLAN_BYTES_STRING : -1;
    default:
        return -1;
    }
}

static td_avro_plan *td_build(td_builder *b, const td_avro_node *r, const td_avro_node *w,
                              td_error *err);

static td_avro_plan *td_build_record(td_builder *b, const td_avro_node *r, const td_avro_node *w,
                                     td_error *err)
{
    size_t base = b->pathlen;
    td_avro_plan *p;

    /* a record pair seen before (or being built: a recursive schema) */
    for (size_t i = 0; i < b->ps->n; i++) {
        td_avro_plan *q = b->ps->plans[i];
        if (q->kind != TD_PLAN_RECORD || q->r != r || q->w != w)
            continue;
        if (q->state == TD_PLAN_FAILED) {
            td_error_set(err, -EINVAL, "%s", q->failure);
            return NULL;
        }
        return q;
    }
    p = td_plan_new(b, TD_PLAN_RECORD, r, w, r->nfields, err);
    if (!p)
        return NULL;
    p->state = TD_PLAN_BUILDING;
    p->wfield = calloc(r->nfields ? r->nfields : 1, sizeof(*p->wfield));
    if (!p->wfield)
        return td_build_oom(b, err);
    for (size_t i = 0; i < r->nfields; i++) {
        const td_avro_field *rf = &r->fields[i];
        int found = -1;
        size_t old;

        for (size_t k = 0; k < w->nfields && found < 0; k++)
            if (strcmp(w->fields[k].name, rf->name) == 0)
                found = (int)k;
        for (size_t a = 0; a < rf->naliases && found < 0; a++)
            for (size_t k = 0; k < w->nfields && found < 0; k++)
                if (strcmp(w->fields[k].name, rf->aliases[a]) == 0)
                    found = (int)k;
        p->wfield[i] = found;
        old = td_path_push(b, ".", rf->name);
        if (found < 0) {
            if (!rf->def) {
                td_build_fail(b, err, "reader field has no default and writer %s has no such "
                                      "field", w->fullname);
                goto fail;
            }
        } else {
            p->sub[i] = td_build(b, rf->type, w->fields[found].type, err);
            if (!p->sub[i])
                goto fail;
        }
        td_path_pop(b, old);
    }
    p->state = TD_PLAN_OK;
    return p;
fail:
    td_path_pop(b, base);
    p->state = TD_PLAN_FAILED;
    p->failure = strdup(td_error_msg(err));
    if (!p->failure)
        return td_build_oom(b, err);
    return NULL;
}

/* The first reader branch that takes writer type w: same type (and name)
 * first, then a promotion. -1 if none. */
static int td_union_pick(const td_avro_node *r, const td_avro_node *w)
{
    for (size_t i = 0; i < r->nbranches; i++) {
        const td_avro_node *rb = r->branches[i];
        if (rb->type == w->type && (!rb->name || td_names_match(rb, w)))
            return (int)i;
    }
    for (size_t i = 0; i < r->nbranches; i++)
        if (td_promotion(w->type, r->branches[i]->type) >= 0)
            return (int)i;
    return -1;
}

static td_avro_plan *td_build_to_union(td_builder *b, const td_avro_node *r,
                                       const td_avro_node *w, td_error *err)
{
    td_avro_plan *p;
    int k = td_union_pick(r, w);
    char d[256];

    if (k < 0)
        return td_build_fail(b, err, "writer %s matches no branch of the reader's union",
                             td_avro_node_describe(w, d, sizeof(d)));
    p = td_plan_new(b, TD_PLAN_TO_UNION, r, w, 1, err);
    if (!p)
        return NULL;
    p->rbranch = k;
    p->sub[0] = td_build(b, r->branches[k], w, err);
    return p->sub[0] ? p : NULL;
}

static td_avro_plan *td_build_from_union(td_builder *b, const td_avro_node *r,
                                         const td_avro_node *w, td_error *err)
{
    td_avro_plan *p = td_plan_new(b, TD_PLAN_FROM_UNION, r, w, w->nbranches, err);
    size_t readable = 0;
    const char *first = NULL;

    if (!p)
        return NULL;
    p->why = calloc(w->nbranches, sizeof(*p->why));
    if (!p->why)
        return td_build_oom(b, err);
    for (size_t i = 0; i < w->nbranches; i++) {
        td_error trial = {0};
        const td_avro_node *wb = w->branches[i];

        p->sub[i] = r->type == TD_AVRO_UNION ? td_build_to_union(b, r, wb, &trial)
                                             : td_build(b, r, wb, &trial);
        if (b->oom)
            return td_build_oom(b, err);
        if (p->sub[i]) {
            readable++;
            continue;
        }
        p->why[i] = strdup(trial.msg);
        if (!p->why[i])
            return td_build_oom(b, err);
        if (!first)
            first = p->why[i];
    }
    if (readable == 0) {
        td_error_set(err, -EINVAL, "no branch of the writer's union can be read (%s)", first);
        return NULL;
    }
    return p;
}

static td_avro_plan *td_build(td_builder *b, const td_avro_node *r, const td_avro_node *w,
                              td_error *err)
{
    char dw[256], dr[256];
    td_avro_plan *p;
    size_t old;
    int promo;

    if (w->type == TD_AVRO_UNION)
        return td_build_from_union(b, r, w, err);
    if (r->type == TD_AVRO_UNION)
        return td_build_to_union(b, r, w, err);
    if (r->type != w->type) {
        promo = td_promotion(w->type, r->type);
        if (promo < 0)
            return td_build_fail(b, err, "writer %s cannot be read as %s",
                                 td_avro_node_describe(w, dw, sizeof(dw)),
                                 td_avro_node_describe(r, dr, sizeof(dr)));
        return td_plan_new(b, (td_plan_kind)promo, r, w, 0, err);
    }
    if (r->name && !td_names_match(r, w))
        return td_build_fail(b, err, "writer %s cannot be read as %s (names differ, and no "
                                     "reader alias names the writer's)",
                             td_avro_node_describe(w, dw, sizeof(dw)),
                             td_avro_node_describe(r, dr, sizeof(dr)));
    switch (r->type) {
    case TD_AVRO_RECORD:
        return td_build_record(b, r, w, err);
    case TD_AVRO_FIXED:
        if (r->size != w->size)
            return td_build_fail(b, err, "writer fixed %s of %zu bytes cannot be read as %zu "
                                         "bytes", w->fullname, w->size, r->size);
        return td_plan_new(b, TD_PLAN_FIXED, r, w, 0, err);
    case TD_AVRO_ENUM:
        p = td_plan_new(b, TD_PLAN_ENUM, r, w, 0, err);
        if (!p)
            return NULL;
        p->symmap = calloc(w->nsymbols, sizeof(*p->symmap));
        if (!p->symmap)
            return td_build_oom(b, err);
        for (size_t i = 0; i < w->nsymbols; i++) {
            p->symmap[i] = -1;
            for (size_t k = 0; k < r->nsymbols; k++)
                if (strcmp(w->symbols[i], r->symbols[k]) == 0)
                    p->symmap[i] = (int)k;
        }
        return p;
    case TD_AVRO_ARRAY:
    case TD_AVRO_MAP:
        p = td_plan_new(b, r->type == TD_AVRO_ARRAY ? TD_PLAN_ARRAY : TD_PLAN_MAP, r, w, 1, err);
        if (!p)
            return NULL;
        old = td_path_push(b, r->type == TD_AVRO_ARRAY ? "[]" : "{}", "");
        p->sub[0] = td_build(b, r->items, w->items, err);
        td_path_pop(b, old);
        return p->sub[0] ? p : NULL;
    default:
        return td_plan_new(b, TD_PLAN_COPY, r, w, 0, err);
    }
}

td_avro_planset *td_avro_planset_free(td_avro_planset *ps)
{
    if (!ps)
        return NULL;
    for (size_t i = 0; i < ps->n; i++) {
        td_avro_plan *p = ps->plans[i];
        if (p->why)
            for (size_t k = 0; k < p->nsub; k++)
                free(p->why[k]);
        free(p->why);
        free(p->sub);
        free(p->wfield);
        free(p->symmap);
        free(p->failure);
        free(p);
    }
    free(ps->plans);
    free(ps);
    return NULL;
}

int td_avro_planset_build(const td_avro_schema *reader, const td_avro_schema *writer,
                          td_avro_planset **ret, td_error *err)
{
    td_builder b = {0};
    td_error inner = {0};

    b.ps = calloc(1, sizeof(*b.ps));
    if (!b.ps)
        return td_error_set(err, -ENOMEM, "out of memory");
    b.ps->reader = reader;
    b.ps->writer = writer;
    td_path_push(&b, "", reader->root->name ? reader->root->name : reader->fullname);
    b.ps->root = td_build(&b, reader->root, writer->root, &inner);
    if (!b.ps->root) {
        td_avro_planset_free(b.ps);
        return td_error_set(err, inner.code ? inner.code : -EINVAL, "%s", inner.msg);
    }
    *ret = b.ps;
    return 0;
}

int td_avro_check_compat(const td_avro_schema *reader, const td_avro_schema *writer,
                         td_error *err)
{
    td_avro_planset *ps = NULL;
    int r = td_avro_planset_build(reader, writer, &ps, err);

    td_avro_planset_free(ps);
    return r;
}

/* ----------------------------------------------------------------- apply */

typedef struct td_apply {
    td_avro_trail trail;
    char msg[512];
    int code;
} td_apply;

__attribute__((format(printf, 2, 3)))
static int td_apply_fail(td_apply *a, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(a->msg, sizeof(a->msg), fmt, ap);
    va_end(ap);
    return a->code = -EINVAL;
}

static int td_apply_avro(td_apply *a, int rc)
{
    td_apply_fail(a, "Avro C: %s", avro_strerror());
    return a->code = rc == ENOMEM ? -ENOMEM : -EINVAL;
}

static int td_apply_plan(td_apply *a, const td_avro_plan *p, const avro_value_t *w,
                         avro_value_t *r)
{
    int rc = 0;

    switch (p->kind) {
    case TD_PLAN_COPY:
        switch (p->r->type) {
        case TD_AVRO_NULL:
            rc = avro_value_set_null(r);
            break;
        case TD_AVRO_BOOLEAN: {
            int x = 0;
            if (!(rc = avro_value_get_boolean(w, &x)))
                rc = avro_value_set_boolean(r, x);
            break;
        }
        case TD_AVRO_INT: {
            int32_t x = 0;
            if (!(rc = avro_value_get_int(w, &x)))
                rc = avro_value_set_int(r, x);
            break;
        }
        case TD_AVRO_LONG: {
            int64_t x = 0;
            if (!(rc = avro_value_get_long(w, &x)))
                rc = avro_value_set_long(r, x);
            break;
        }
        case TD_AVRO_FLOAT: {
            float x = 0;
            if (!(rc = avro_value_get_float(w, &x)))
                rc = avro_value_set_float(r, x);
            break;
        }
        case TD_AVRO_DOUBLE: {
            double x = 0;
            if (!(rc = avro_value_get_double(w, &x)))
                rc = avro_value_set_double(r, x);
            break;
        }
        case TD_AVRO_STRING: {
            const char *s = NULL;
            size_t size = 0;
            if (!(rc = avro_value_get_string(w, &s, &size)))
                rc = s && size ? avro_value_set_string_len(r, s, size)
                               : avro_value_set_string(r, "");
            break;
        }
        case TD_AVRO_BYTES: {
            const void *s = NULL;
            size_t size = 0;
            if (!(rc = avro_value_get_bytes(w, &s, &size)))
                rc = avro_value_set_bytes(r, s ? (void *)s : (void *)"", s ? size : 0);
            break;
        }
        default:
            return td_apply_fail(a, "internal: copy of %s", td_avro_type_name(p->r->type));
        }
        break;
    case TD_PLAN_INT_LONG:
    case TD_PLAN_INT_FLOAT:
    case TD_PLAN_INT_DOUBLE: {
        int32_t x = 0;
        if ((rc = avro_value_get_int(w, &x)))
            break;
        rc = p->kind == TD_PLAN_INT_LONG    ? avro_value_set_long(r, x)
             : p->kind == TD_PLAN_INT_FLOAT ? avro_value_set_float(r, (float)x)
                                            : avro_value_set_double(r, x);
        break;
    }
    case TD_PLAN_LONG_FLOAT:
    case TD_PLAN_LONG_DOUBLE: {
        int64_t x = 0;
        if ((rc = avro_value_get_long(w, &x)))
            break;
        rc = p->kind == TD_PLAN_LONG_FLOAT ? avro_value_set_float(r, (float)x)
                                           : avro_value_set_double(r, (double)x);
        break;
    }
    case TD_PLAN_FLOAT_DOUBLE: {
        float x = 0;
        if (!(rc = avro_value_get_float(w, &x)))
            rc = avro_value_set_double(r, x);
        break;
    }
    case TD_PLAN_STRING_BYTES: {
        const char *s = NULL;
        size_t size = 0;
        if (!(rc = avro_value_get_string(w, &s, &size)))
            rc = avro_value_set_bytes(r, s ? (void *)s : (void *)"", s && size ? size - 1 : 0);
        break;
    }
    case TD_PLAN_BYTES_STRING: {
        const void *s = NULL;
        size_t size = 0;
        char *copy;
        if ((rc = avro_value_get_bytes(w, &s, &size)))
            break;
        if (!s)
            size = 0;
        if (td_avro_utf8_bad(s, size) != size)
            return td_apply_fail(a, "bytes read as a string are not UTF-8 without NUL");
        copy = malloc(size + 1);
        if (!copy)
            return a->code = -ENOMEM;
        if (size)
            memcpy(copy, s, size);
        copy[size] = '\0';
        rc = avro_value_set_string_len(r, copy, size + 1);
        free(copy);
        break;
    }
    case TD_PLAN_FIXED: {
        const void *s = NULL;
        size_t size = 0;
        if (!(rc = avro_value_get_fixed(w, &s, &size)))
            rc = avro_value_set_fixed(r, (void *)s, size);
        break;
    }
    case TD_PLAN_ENUM: {
        int x = -1, m;
        if ((rc = avro_value_get_enum(w, &x)))
            break;
        if (x < 0 || (size_t)x >= p->w->nsymbols)
            return td_apply_fail(a, "enum index %d out of range", x);
        m = p->symmap[x];
        if (m < 0)
            m = p->r->enum_default;
        if (m < 0)
            return td_apply_fail(a, "writer symbol %s is not in the reader's enum %s, which has "
                                    "no default",
                                 p->w->symbols[x], p->r->fullname);
        rc = avro_value_set_enum(r, m);
        break;
    }
    case TD_PLAN_RECORD:
        for (size_t i = 0; i < p->r->nfields; i++) {
            avro_value_t rf, wf;
            int e;
            if ((rc = avro_value_get_by_index(r, i, &rf, NULL)))
                break;
            if (p->wfield[i] < 0) {
                td_error derr = {0};
                e = td_avro_json_set(p->r->fields[i].type, p->r->fields[i].def, &rf,
                                     TD_AVRO_JSON_DEFAULT, "default", &derr);
                if (e < 0) {
                    td_apply_fail(a, "%s", derr.msg);
                    a->code = e;
                }
            } else {
                if ((rc = avro_value_get_by_index(w, (size_t)p->wfield[i], &wf, NULL)))
                    break;
                e = td_apply_plan(a, p->sub[i], &wf, &rf);
            }
            if (e < 0) {
                td_avro_trail_field(&a->trail, p->r->fields[i].name);
                return e;
            }
        }
        break;
    case TD_PLAN_ARRAY:
    case TD_PLAN_MAP: {
        size_t count = 0;
        if ((rc = avro_value_get_size(w, &count)))
            break;
        for (size_t i = 0; i < count; i++) {
            avro_value_t wi, ri;
            const char *key = NULL;
            int e;
            if ((rc = avro_value_get_by_index(w, i, &wi, p->kind == TD_PLAN_MAP ? &key : NULL)))
                break;
            rc = p->kind == TD_PLAN_MAP ? avro_value_add(r, key, &ri, NULL, NULL)
                                        : avro_value_append(r, &ri, NULL);
            if (rc)
                break;
            if ((e = td_apply_plan(a, p->sub[0], &wi, &ri)) < 0) {
                td_avro_trail_index(&a->trail, i);
                return e;
            }
        }
        break;
    }
    case TD_PLAN_TO_UNION: {
        avro_value_t rb;
        if ((rc = avro_value_set_branch(r, p->rbranch, &rb)))
            break;
        return td_apply_plan(a, p->sub[0], w, &rb);
    }
    case TD_PLAN_FROM_UNION: {
        int disc = -1;
        avro_value_t wb;
        char d[256];
        if ((rc = avro_value_get_discriminant(w, &disc)))
            break;
        if (disc < 0 || (size_t)disc >= p->nsub)
            return td_apply_fail(a, "writer union has no branch");
        if (!p->sub[disc])
            return td_apply_fail(a, "writer union branch %s cannot be read: %s",
                                 td_avro_node_describe(p->w->branches[disc], d, sizeof(d)),
                                 p->why[disc]);
        if ((rc = avro_value_get_current_branch(w, &wb)))
            break;
        return td_apply_plan(a, p->sub[disc], &wb, r);
    }
    }
    return rc ? td_apply_avro(a, rc) : 0;
}

int td_avro_planset_apply(const td_avro_planset *ps, const avro_value_t *w, avro_value_t *r,
                          td_error *err)
{
    td_apply a = {0};
    const td_avro_node *root = ps->reader->root;
    int rc;

    td_avro_trail_init(&a.trail);
    rc = td_apply_plan(&a, ps->root, w, r);
    if (rc < 0)
        return td_error_set(err, rc, "%s%s: %s (writer %s)",
                            root->name ? root->name : ps->reader->fullname,
                            td_avro_trail_str(&a.trail), a.msg, ps->writer->source);
    return 0;
}
