/* tdm_roster: the roster index in the state store. */
#include "tdm_roster.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct tdm_bytes {
    const char *p;
    size_t n;
} tdm_bytes;

/* A string of the decoded value waiting to be copied into a view. */
typedef struct tdm_pending {
    const char **slot;
    const char *src;
    size_t n;
} tdm_pending;

typedef struct tdm_keys {
    tdm_bytes *v;
    size_t n, cap;
} tdm_keys;

struct tdm_roster {
    tdm_store *store;
    tdm_db households;
    tdm_db persons;
    tdm_db persons_all;
    size_t max_key;
    td_avro_decoder *dec;     /* new records and lookups */
    td_avro_decoder *dec_old; /* the entry a record replaces */
    tdm_keys new_keys;
    tdm_keys old_keys;
    tdm_pending *pending;
    size_t pending_cap;
    char *list;               /* a 'person_all' value being rewritten */
    size_t list_cap;
};

/* ---------------------------------------------------------- schema checks */

static const char *const TYPE_SYMS[] = {"UNKNOWN", "POVERTY_ALLEVIATED", "ORDINARY"};
static const char *const STATE_SYMS[] = {"UNKNOWN", "NOT_MONITORED", "MONITORED",
                                         "RISK_ELIMINATED"};
static const char *const CAT_SYMS[] = {"UNKNOWN", "UNSTABLE_ALLEVIATED", "MARGINAL",
                                       "SUDDEN_HARDSHIP"};
static const char *const REL_SYMS[] = {"UNKNOWN", "HEAD", "SPOUSE", "CHILD", "CHILD_IN_LAW",
                                       "GRANDCHILD", "PARENT", "PARENT_IN_LAW", "GRANDPARENT",
                                       "SIBLING", "OTHER"};
static const char *const LABOUR_SYMS[] = {"UNKNOWN", "NORMAL", "SKILLED", "WEAK", "LOST", "NONE"};
static const char *const SEX_SYMS[] = {"UNKNOWN", "MALE", "FEMALE"};

#define NSYMS(a) (sizeof(a) / sizeof((a)[0]))

static const td_avro_node *tdm_field_node(const td_avro_node *rec, const char *name)
{
    if (!rec || rec->type != TD_AVRO_RECORD)
        return NULL;
    for (size_t i = 0; i < rec->nfields; i++)
        if (strcmp(rec->fields[i].name, name) == 0)
            return rec->fields[i].type;
    return NULL;
}

/* The non-null branch of a ["null", T] union, or n itself. */
static const td_avro_node *tdm_unnull(const td_avro_node *n)
{
    if (n && n->type == TD_AVRO_UNION && n->nbranches == 2 && n->branches[0]->type == TD_AVRO_NULL)
        return n->branches[1];
    return n;
}

static bool tdm_enum_is(const td_avro_node *n, const char *const *syms, size_t nsyms)
{
    if (!n || n->type != TD_AVRO_ENUM || n->nsymbols != nsyms)
        return false;
    for (size_t i = 0; i < nsyms; i++)
        if (strcmp(n->symbols[i], syms[i]) != 0)
            return false;
    return true;
}

static int tdm_check_reader(const td_avro_schema *s, td_error *err)
{
    const td_avro_node *root = td_avro_schema_root(s);
    const td_avro_node *mon = tdm_field_node(root, "monitoring");
    const td_avro_node *members = tdm_field_node(root, "members");
    const td_avro_node *member = members && members->type == TD_AVRO_ARRAY ? members->items : NULL;

    if (!tdm_enum_is(tdm_field_node(root, "household_type"), TYPE_SYMS, NSYMS(TYPE_SYMS)) ||
        !tdm_enum_is(tdm_field_node(mon, "state"), STATE_SYMS, NSYMS(STATE_SYMS)) ||
        !tdm_enum_is(tdm_unnull(tdm_field_node(mon, "category")), CAT_SYMS, NSYMS(CAT_SYMS)) ||
        !tdm_enum_is(tdm_field_node(member, "relation"), REL_SYMS, NSYMS(REL_SYMS)) ||
        !tdm_enum_is(tdm_field_node(member, "labour_capacity"), LABOUR_SYMS, NSYMS(LABOUR_SYMS)) ||
        !tdm_enum_is(tdm_unnull(tdm_field_node(member, "sex")), SEX_SYMS, NSYMS(SEX_SYMS)) ||
        !tdm_enum_is(tdm_unnull(tdm_field_node(member, "id_sex")), SEX_SYMS, NSYMS(SEX_SYMS)))
        return td_error_set(err, -EINVAL,
                            "roster: the schema %s does not match tdm_roster.h's enums (%s)",
                            TDM_ROSTER_SCHEMA, td_avro_schema_source(s));
    return 0;
}

/* ------------------------------------------------------------ the roster */

static int tdm_roster_fill_all(tdm_roster *r, td_error *err);

int tdm_roster_new(tdm_store *store, const td_avro_registry *reg, tdm_roster **ret,
                   td_error *err)
{
    const td_avro_schema *reader = td_avro_registry_find_name(reg, TDM_ROSTER_SCHEMA);
    tdm_roster *r;
    int rc;

    if (!reader)
        return td_error_set(err, -ENOENT, "roster: no schema %s in the registry",
                            TDM_ROSTER_SCHEMA);
    if ((rc = tdm_check_reader(reader, err)) < 0)
        return rc;
    if (!(r = calloc(1, sizeof(*r))))
        return td_error_set(err, -ENOMEM, "roster: out of memory");
    r->store = store;
    r->max_key = tdm_store_max_key_len(store);
    if ((rc = tdm_store_db(store, "household", &r->households, err)) < 0 ||
        (rc = tdm_store_db(store, "person", &r->persons, err)) < 0 ||
        (rc = tdm_store_db(store, "person_all", &r->persons_all, err)) < 0 ||
        (rc = td_avro_decoder_new(reg, reader, &r->dec, err)) < 0 ||
        (rc = td_avro_decoder_new(reg, reader, &r->dec_old, err)) < 0 ||
        (rc = tdm_roster_fill_all(r, err)) < 0)
        goto fail;
    *ret = r;
    return 0;

fail:
    tdm_roster_free(r);
    return rc;
}

tdm_roster *tdm_roster_free(tdm_roster *r)
{
    if (!r)
        return NULL;
    td_avro_decoder_free(r->dec);
    td_avro_decoder_free(r->dec_old);
    free(r->new_keys.v);
    free(r->old_keys.v);
    free(r->pending);
    free(r->list);
    free(r);
    return NULL;
}

/* ------------------------------------------------------- value accessors */

static int tdm_str(avro_value_t *rec, const char *name, const char **ret, size_t *ret_len)
{
    avro_value_t f;
    const char *s;
    size_t size;

    if (avro_value_get_by_name(rec, name, &f, NULL) != 0 ||
        avro_value_get_string(&f, &s, &size) != 0)
        return -EINVAL;
    *ret = s ? s : "";
    *ret_len = s && size ? size - 1 : 0; /* size counts the NUL */
    return 0;
}

static int tdm_enum(avro_value_t *rec, const char *name, int *ret)
{
    avro_value_t f;

    if (avro_value_get_by_name(rec, name, &f, NULL) != 0 || avro_value_get_enum(&f, ret) != 0)
        return -EINVAL;
    return 0;
}

/* A ["null", T] union field: 0 and *ret_branch set when not null, 1 when
 * null. */
static int tdm_opt(avro_value_t *rec, const char *name, avro_value_t *ret_branch)
{
    avro_value_t f;
    int disc;

    if (avro_value_get_by_name(rec, name, &f, NULL) != 0 ||
        avro_value_get_discriminant(&f, &disc) != 0)
        return -EINVAL;
    if (disc <= 0)
        return 1;
    return avro_value_get_current_branch(&f, ret_branch) != 0 ? -EINVAL : 0;
}

/* An optional boolean as 1 / 0, or -1 when null. 0 or -EINVAL. */
static int tdm_opt_bool(avro_value_t *rec, const char *name, int *ret)
{
    avro_value_t b;
    int rc = tdm_opt(rec, name, &b), yes;

    if (rc < 0)
        return rc;
    if (rc > 0) {
        *ret = -1;
        return 0;
    }
    if (avro_value_get_boolean(&b, &yes) != 0)
        return -EINVAL;
    *ret = yes ? 1 : 0;
    return 0;
}

/* An optional enum as its symbol index, or -1 when null. 0 or -EINVAL. */
static int tdm_opt_enum(avro_value_t *rec, const char *name, int *ret)
{
    avro_value_t b;
    int rc = tdm_opt(rec, name, &b), e;

    if (rc < 0)
        return rc;
    if (rc > 0) {
        *ret = -1;
        return 0;
    }
    if (avro_value_get_enum(&b, &e) != 0)
        return -EINVAL;
    *ret = e;
    return 0;
}

/* The person keys of the decoded household v into keys (pointing into v),
 * sorted. */
static int tdm_collect_keys(const tdm_roster *r, avro_value_t *v, tdm_keys *keys, td_error *err)
{
    avro_value_t members, m;
    size_t n;

    keys->n = 0;
    if (avro_value_get_by_name(v, "members", &members, NULL) != 0 ||
        avro_value_get_size(&members, &n) != 0)
        return td_error_set(err, -EINVAL, "roster: the record has no members array");
    if (n > keys->cap) {
        tdm_bytes *nv = realloc(keys->v, n * sizeof(*nv));
        if (!nv)
            return td_error_set(err, -ENOMEM, "roster: out of memory");
        keys->v = nv;
        keys->cap = n;
    }
    for (size_t i = 0; i < n; i++) {
        tdm_bytes *k = &keys->v[i];
        if (avro_value_get_by_index(&members, i, &m, NULL) != 0 ||
            tdm_str(&m, "person_key", &k->p, &k->n) != 0)
            return td_error_set(err, -EINVAL, "roster: members[%zu] has no person_key", i);
        if (k->n == 0 || k->n > r->max_key)
            return td_error_set(err, -EINVAL,
                                "roster: members[%zu].person_key is empty or longer than %zu bytes",
                                i, r->max_key);
    }
    keys->n = n;
    return 0;
}

static int tdm_bytes_cmp(const void *a, const void *b)
{
    const tdm_bytes *x = a, *y = b;
    size_t n = x->n < y->n ? x->n : y->n;
    int c = memcmp(x->p, y->p, n);

    return c ? c : (x->n > y->n) - (x->n < y->n);
}

static bool tdm_keys_has(const tdm_keys *keys, const tdm_bytes *k)
{
    return keys->n && bsearch(k, keys->v, keys->n, sizeof(*k), tdm_bytes_cmp) != NULL;
}

/* ------------------------------------------------------------------ apply */

static int tdm_grow(void **p, size_t *cap, size_t need, size_t elem)
{
    void *np;

    if (need <= *cap)
        return 0;
    if (!(np = realloc(*p, need * elem)))
        return -ENOMEM;
    *p = np;
    *cap = need;
    return 0;
}

/* Removes person -> household only if it still points to household. */
static int tdm_unlink(tdm_roster *r, tdm_txn *txn, const tdm_bytes *person, const void *hh,
                      size_t hh_len, td_error *err)
{
    const void *v;
    size_t len;
    int rc = tdm_store_get(txn, r->persons, person->p, person->n, &v, &len, err);

    if (rc == -ENOENT)
        return 0;
    if (rc < 0)
        return rc;
    if (len != hh_len || memcmp(v, hh, len) != 0)
        return 0; /* the person moved on: that household's link stays */
    rc = tdm_store_del(txn, r->persons, person->p, person->n, err);
    return rc == -ENOENT ? 0 : rc;
}

/* Adds household hh to (add) or removes it from person's 'person_all'
 * list: ids in byte order, each followed by a NUL; an empty list is
 * deleted. Unchanged lists are not written. */
static int tdm_all_edit(tdm_roster *r, tdm_txn *txn, const tdm_bytes *person, const void *hh,
                        size_t hh_len, bool add, td_error *err)
{
    const void *v = NULL;
    size_t len = 0, at, n;
    const char *p;
    int rc = tdm_store_get(txn, r->persons_all, person->p, person->n, &v, &len, err);

    if (rc < 0 && rc != -ENOENT)
        return rc;
    if (rc == -ENOENT)
        len = 0;
    p = v;
    /* where hh is, or goes */
    for (at = 0; at < len; at += n + 1) {
        const char *nul = memchr(p + at, '\0', len - at);
        tdm_bytes cur, want = {hh, hh_len};
        int c;
        if (!nul)
            return td_error_set(err, -EIO, "roster: a bad person_all entry");
        n = (size_t)(nul - (p + at));
        cur = (tdm_bytes){p + at, n};
        c = tdm_bytes_cmp(&cur, &want);
        if (c == 0) {
            if (add)
                return 0;
            if (len == n + 1)
                return tdm_store_del(txn, r->persons_all, person->p, person->n, err);
            if (tdm_grow((void **)&r->list, &r->list_cap, len, 1) < 0)
                return td_error_set(err, -ENOMEM, "roster: out of memory");
            if (at)
                memcpy(r->list, p, at);
            if (len - at - n - 1)
                memcpy(r->list + at, p + at + n + 1, len - at - n - 1);
            return tdm_store_put(txn, r->persons_all, person->p, person->n, r->list,
                                 len - n - 1, err);
        }
        if (c > 0)
            break;
    }
    if (!add)
        return 0;
    if (tdm_grow((void **)&r->list, &r->list_cap, len + hh_len + 1, 1) < 0)
        return td_error_set(err, -ENOMEM, "roster: out of memory");
    if (at) /* p is NULL when the person had no entry (len 0) */
        memcpy(r->list, p, at);
    memcpy(r->list + at, hh, hh_len);
    r->list[at + hh_len] = '\0';
    if (len - at)
        memcpy(r->list + at + hh_len + 1, p + at, len - at);
    return tdm_store_put(txn, r->persons_all, person->p, person->n, r->list, len + hh_len + 1,
                         err);
}

int tdm_roster_apply(tdm_roster *r, tdm_txn *txn, const void *key, size_t key_len,
                     const void *value, size_t value_len, td_error *err)
{
    avro_value_t *v, *old;
    const void *stored;
    size_t stored_len;
    bool had_old;
    int rc;

    if (!key || key_len == 0 || key_len > r->max_key)
        return td_error_set(err, -EINVAL, "roster: household key is empty or longer than %zu bytes",
                            r->max_key);
    if (memchr(key, '\0', key_len))
        return td_error_set(err, -EINVAL, "roster: household key holds a NUL byte");
    r->new_keys.n = 0;
    r->old_keys.n = 0;
    if (value) {
        const char *id;
        size_t id_len;

        if ((rc = td_avro_decode(r->dec, value, value_len, &v, err)) < 0)
            return rc;
        if (tdm_str(v, "household_id", &id, &id_len) != 0)
            return td_error_set(err, -EINVAL, "roster: the record has no household_id");
        if (id_len != key_len || memcmp(id, key, key_len) != 0)
            return td_error_set(err, -EINVAL, "roster: the record's household_id differs from its key");
        if ((rc = tdm_collect_keys(r, v, &r->new_keys, err)) < 0)
            return rc;
        qsort(r->new_keys.v, r->new_keys.n, sizeof(tdm_bytes), tdm_bytes_cmp);
    }

    rc = tdm_store_get(txn, r->households, key, key_len, &stored, &stored_len, err);
    if (rc < 0 && rc != -ENOENT)
        return rc;
    had_old = rc == 0;
    if (had_old) {
        /* Decoded before any write: stored points into the map. */
        if ((rc = td_avro_decode(r->dec_old, stored, stored_len, &old, err)) < 0) {
            char why[TD_ERROR_MSG_MAX];
            snprintf(why, sizeof(why), "%s", td_error_msg(err));
            return td_error_set(err, rc, "roster: the stored entry of a household cannot be "
                                         "decoded: %s", why);
        }
        if ((rc = tdm_collect_keys(r, old, &r->old_keys, err)) < 0)
            return rc;
    }

    for (size_t i = 0; i < r->old_keys.n; i++) {
        const tdm_bytes *k = &r->old_keys.v[i];
        if (!tdm_keys_has(&r->new_keys, k) &&
            ((rc = tdm_unlink(r, txn, k, key, key_len, err)) < 0 ||
             (rc = tdm_all_edit(r, txn, k, key, key_len, false, err)) < 0))
            return rc;
    }
    if (!value) {
        if (had_old && (rc = tdm_store_del(txn, r->households, key, key_len, err)) < 0)
            return rc;
        return 0;
    }
    for (size_t i = 0; i < r->new_keys.n; i++) {
        const tdm_bytes *k = &r->new_keys.v[i];
        if ((rc = tdm_store_put(txn, r->persons, k->p, k->n, key, key_len, err)) < 0 ||
            (rc = tdm_all_edit(r, txn, k, key, key_len, true, err)) < 0)
            return rc;
    }
    return tdm_store_put(txn, r->households, key, key_len, value, value_len, err);
}

/* ---------------------------------------------------------------- lookups */

int tdm_roster_household_of(tdm_roster *r, tdm_txn *txn, const char *person_key, char *buf,
                            size_t size, td_error *err)
{
    size_t n = person_key ? strlen(person_key) : 0;
    const void *v;
    size_t len;
    int rc;

    if (n == 0 || n > r->max_key)
        return -ENOENT;
    if ((rc = tdm_store_get(txn, r->persons, person_key, n, &v, &len, err)) < 0)
        return rc;
    if (len + 1 > size)
        return td_error_set(err, -ERANGE, "roster: household id of %zu bytes does not fit", len);
    memcpy(buf, v, len);
    buf[len] = '\0';
    return 0;
}

int tdm_roster_households_of(tdm_roster *r, tdm_txn *txn, const char *person_key,
                             tdm_roster_each_fn fn, void *opaque, td_error *err)
{
    size_t n = person_key ? strlen(person_key) : 0, len, at = 0;
    const void *v;
    char *copy;
    int rc;

    if (n == 0 || n > r->max_key)
        return 0;
    rc = tdm_store_get(txn, r->persons_all, person_key, n, &v, &len, err);
    if (rc == -ENOENT)
        return 0;
    if (rc < 0)
        return rc;
    if (len == 0 || ((const char *)v)[len - 1] != '\0')
        return td_error_set(err, -EIO, "roster: a bad person_all entry");
    /* a copy: fn may write in txn, which may move the map */
    if (!(copy = malloc(len)))
        return td_error_set(err, -ENOMEM, "roster: out of memory");
    memcpy(copy, v, len);
    for (rc = 0; at < len && rc == 0; at += strlen(copy + at) + 1)
        rc = fn(copy + at, opaque);
    free(copy);
    return rc;
}

void tdm_household_done(tdm_household *view)
{
    if (!view)
        return;
    free(view->member_buf);
    free(view->risk_buf);
    free(view->text);
    memset(view, 0, sizeof(*view));
}


/* Fills view from the decoded v; strings are queued in r->pending and then
 * copied into view->text. */
static int tdm_fill(tdm_roster *r, avro_value_t *v, tdm_household *view, td_error *err)
{
    avro_value_t mon, members, risks, m, b, f;
    size_t nmembers, nrisks, np = 0, total = 0, len;
    int e, rc = -EINVAL;
    const char *s;

    if (avro_value_get_by_name(v, "members", &members, NULL) != 0 ||
        avro_value_get_size(&members, &nmembers) != 0 ||
        avro_value_get_by_name(v, "risks", &risks, NULL) != 0 ||
        avro_value_get_size(&risks, &nrisks) != 0 ||
        avro_value_get_by_name(v, "monitoring", &mon, NULL) != 0)
        goto bad;
    if (tdm_grow((void **)&view->member_buf, &view->member_cap, nmembers ? nmembers : 1,
                 sizeof(tdm_member)) < 0 ||
        tdm_grow((void **)&view->risk_buf, &view->risk_cap, nrisks ? nrisks : 1,
                 sizeof(const char *)) < 0 ||
        tdm_grow((void **)&r->pending, &r->pending_cap, 3 + 2 * nmembers + nrisks,
                 sizeof(tdm_pending)) < 0)
        return td_error_set(err, -ENOMEM, "roster: out of memory");

#define QUEUE(slotp, src_, n_)                                                          \
    do {                                                                                \
        r->pending[np++] = (tdm_pending){(slotp), (src_), (n_)};                        \
        total += (n_) + 1;                                                              \
    } while (0)

    if (tdm_str(v, "household_id", &s, &len) != 0)
        goto bad;
    QUEUE(&view->household_id, s, len);
    if (tdm_str(v, "village_code", &s, &len) != 0)
        goto bad;
    QUEUE(&view->village_code, s, len);
    memset(view->county, 0, sizeof(view->county));
    memset(view->township, 0, sizeof(view->township));
    if (len >= 6)
        memcpy(view->county, s, 6);
    if (len >= 9)
        memcpy(view->township, s, 9);
    if (tdm_str(v, "grid_id", &s, &len) != 0)
        goto bad;
    QUEUE(&view->grid_id, s, len);

    if (tdm_enum(v, "household_type", &e) != 0)
        goto bad;
    view->type = (tdm_r_household_type)e;
    if (tdm_enum(&mon, "state", &e) != 0)
        goto bad;
    view->monitoring = (tdm_monitoring_state)e;
    view->category = TDM_CAT_NONE;
    if ((rc = tdm_opt(&mon, "category", &b)) < 0)
        goto bad;
    if (rc == 0) {
        if (avro_value_get_enum(&b, &e) != 0)
            goto bad;
        view->category = (tdm_monitoring_category)e;
    }
    view->has_identified_date = false;
    view->identified_date = 0;
    if ((rc = tdm_opt(&mon, "identified_date", &b)) < 0)
        goto bad;
    if (rc == 0) {
        if (avro_value_get_int(&b, &view->identified_date) != 0)
            goto bad;
        view->has_identified_date = true;
    }

    view->has_income = false;
    view->income_year = 0;
    view->income_annual_fen = view->income_per_capita_fen = 0;
    if ((rc = tdm_opt(v, "income", &b)) < 0)
        goto bad;
    if (rc == 0) {
        if (avro_value_get_by_name(&b, "year", &f, NULL) != 0 ||
            avro_value_get_int(&f, &view->income_year) != 0 ||
            avro_value_get_by_name(&b, "annual_net_fen", &f, NULL) != 0 ||
            avro_value_get_long(&f, &view->income_annual_fen) != 0 ||
            avro_value_get_by_name(&b, "per_capita_net_fen", &f, NULL) != 0 ||
            avro_value_get_long(&f, &view->income_per_capita_fen) != 0)
            goto bad;
        view->has_income = true;
    }
    if (avro_value_get_by_name(v, "household_size", &f, NULL) != 0 ||
        avro_value_get_int(&f, &view->household_size) != 0 ||
        avro_value_get_by_name(v, "updated_at", &f, NULL) != 0 ||
        avro_value_get_long(&f, &view->updated_at) != 0)
        goto bad;

    if (tdm_opt_bool(v, "dibao", &view->dibao) != 0 || tdm_opt_bool(v, "tekun", &view->tekun) != 0)
        goto bad;
    view->head_name = NULL;
    for (size_t i = 0; i < nmembers; i++) {
        tdm_member *mm = &view->member_buf[i];
        if (avro_value_get_by_index(&members, i, &m, NULL) != 0)
            goto bad;
        if (tdm_str(&m, "person_key", &s, &len) != 0)
            goto bad;
        QUEUE(&mm->person_key, s, len);
        if (tdm_str(&m, "name", &s, &len) != 0)
            goto bad;
        QUEUE(&mm->name, s, len);
        if (tdm_enum(&m, "relation", &e) != 0)
            goto bad;
        mm->relation = (tdm_relation)e;
        if (tdm_enum(&m, "labour_capacity", &e) != 0)
            goto bad;
        mm->labour = (tdm_r_labour)e;
        if (avro_value_get_by_name(&m, "birth_date", &f, NULL) != 0 ||
            avro_value_get_int(&f, &mm->birth_date) != 0)
            goto bad;
        mm->disability_grade = 0;
        if ((rc = tdm_opt(&m, "disability_grade", &b)) < 0)
            goto bad;
        if (rc == 0) {
            int32_t g;
            if (avro_value_get_int(&b, &g) != 0)
                goto bad;
            mm->disability_grade = g;
        }
        mm->in_school = -1;
        if ((rc = tdm_opt(&m, "in_school", &b)) < 0)
            goto bad;
        if (rc == 0) {
            int yes;
            if (avro_value_get_boolean(&b, &yes) != 0)
                goto bad;
            mm->in_school = yes ? 1 : 0;
        }
        if (tdm_opt_bool(&m, "public_welfare_job", &mm->public_welfare_job) != 0 ||
            tdm_opt_enum(&m, "sex", &mm->sex) != 0 || tdm_opt_enum(&m, "id_sex", &mm->id_sex) != 0)
            goto bad;
        mm->has_recorded_birth_date = false;
        mm->recorded_birth_date = 0;
        if ((rc = tdm_opt(&m, "recorded_birth_date", &b)) < 0)
            goto bad;
        if (rc == 0) {
            if (avro_value_get_int(&b, &mm->recorded_birth_date) != 0)
                goto bad;
            mm->has_recorded_birth_date = true;
        }
    }
    for (size_t i = 0; i < nrisks; i++) {
        if (avro_value_get_by_index(&risks, i, &f, NULL) != 0 ||
            avro_value_get_string(&f, &s, &len) != 0)
            goto bad;
        len = s && len ? len - 1 : 0;
        QUEUE(&view->risk_buf[i], s ? s : "", len);
    }
#undef QUEUE

    if (tdm_grow((void **)&view->text, &view->text_cap, total, 1) < 0)
        return td_error_set(err, -ENOMEM, "roster: out of memory");
    char *out = view->text;
    for (size_t i = 0; i < np; i++) {
        memcpy(out, r->pending[i].src, r->pending[i].n);
        out[r->pending[i].n] = '\0';
        *r->pending[i].slot = out;
        out += r->pending[i].n + 1;
    }
    view->members = view->member_buf;
    view->nmembers = nmembers;
    view->risks = view->risk_buf;
    view->nrisks = nrisks;
    for (size_t i = 0; i < nmembers; i++)
        if (view->member_buf[i].relation == TDM_REL_HEAD) {
            view->head_name = view->member_buf[i].name;
            break;
        }
    return 0;

bad:
    return td_error_set(err, -EINVAL, "roster: a stored household does not have the shape of %s",
                        TDM_ROSTER_SCHEMA);
}

int tdm_roster_get(tdm_roster *r, tdm_txn *txn, const char *household_id, tdm_household *view,
                   td_error *err)
{
    size_t n = household_id ? strlen(household_id) : 0;
    avro_value_t *v;
    const void *stored;
    size_t len;
    int rc;

    if (n == 0 || n > r->max_key)
        return -ENOENT;
    if ((rc = tdm_store_get(txn, r->households, household_id, n, &stored, &len, err)) < 0)
        return rc;
    if ((rc = td_avro_decode(r->dec, stored, len, &v, err)) < 0)
        return rc;
    return tdm_fill(r, v, view, err);
}

int tdm_roster_count(tdm_roster *r, tdm_txn *txn, size_t *ret_households, size_t *ret_persons,
                     td_error *err)
{
    size_t h, p;
    int rc;

    if ((rc = tdm_store_count(txn, r->households, &h, err)) < 0 ||
        (rc = tdm_store_count(txn, r->persons, &p, err)) < 0)
        return rc;
    *ret_households = h;
    *ret_persons = p;
    return 0;
}

/* ------------------------------------------- filling 'person_all' once */

/* (household id, person key) pairs, NUL-terminated, back to back. */
typedef struct tdm_pairs {
    tdm_roster *r;
    char *buf;
    size_t len, cap;
    int rc;
    td_error *err;
} tdm_pairs;

static int tdm_pairs_add(tdm_pairs *pp, const void *p, size_t n)
{
    if (tdm_grow((void **)&pp->buf, &pp->cap, pp->len + n + 1 < 4096 ? 4096 : pp->len * 2 + n + 1,
                 1) < 0)
        return -ENOMEM;
    memcpy(pp->buf + pp->len, p, n);
    pp->buf[pp->len + n] = '\0';
    pp->len += n + 1;
    return 0;
}

static int tdm_pairs_each(const void *key, size_t key_len, const void *val, size_t val_len,
                          void *opaque)
{
    tdm_pairs *pp = opaque;
    avro_value_t *v;
    int rc;

    if ((rc = td_avro_decode(pp->r->dec, val, val_len, &v, pp->err)) < 0 ||
        (rc = tdm_collect_keys(pp->r, v, &pp->r->new_keys, pp->err)) < 0) {
        pp->rc = rc;
        return 1;
    }
    for (size_t i = 0; i < pp->r->new_keys.n; i++)
        if (tdm_pairs_add(pp, key, key_len) < 0 ||
            tdm_pairs_add(pp, pp->r->new_keys.v[i].p, pp->r->new_keys.v[i].n) < 0) {
            pp->rc = td_error_set(pp->err, -ENOMEM, "roster: out of memory");
            return 1;
        }
    return 0;
}

/* A store from before 'person_all': fill it from 'household' (once: the
 * roster is not empty, its list is). The pairs are collected from a
 * snapshot first, then written in one transaction. */
static int tdm_roster_fill_all(tdm_roster *r, td_error *err)
{
    tdm_txn *txn = NULL;
    tdm_pairs pp = {r, NULL, 0, 0, 0, err};
    size_t nh = 0, na = 0;
    int rc;

    if ((rc = tdm_store_begin_read(r->store, &txn, err)) < 0)
        return rc;
    rc = tdm_store_count(txn, r->households, &nh, err);
    if (rc == 0)
        rc = tdm_store_count(txn, r->persons_all, &na, err);
    if (rc == 0 && nh > 0 && na == 0) {
        rc = tdm_store_foreach(txn, r->households, tdm_pairs_each, &pp, err);
        if (rc > 0)
            rc = pp.rc;
    }
    tdm_store_abort(txn);
    txn = NULL;
    if (rc == 0 && pp.len > 0) {
        rc = tdm_store_begin(r->store, &txn, err);
        for (size_t at = 0; rc == 0 && at < pp.len;) {
            const char *hh = pp.buf + at, *pk = hh + strlen(hh) + 1;
            tdm_bytes k = {pk, strlen(pk)};
            rc = tdm_all_edit(r, txn, &k, hh, strlen(hh), true, err);
            at = (size_t)(pk - pp.buf) + k.n + 1;
        }
        if (rc == 0)
            rc = tdm_store_commit(txn, err);
        else
            tdm_store_abort(txn);
    }
    free(pp.buf);
    r->new_keys.n = 0;
    return rc < 0 ? td_error_prefix(err, rc, "roster: filling person_all: ") : 0;
}
