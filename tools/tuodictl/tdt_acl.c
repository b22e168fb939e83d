/* tdt_acl: the access policy file (deploy/acls.yaml) and
 * `tuodictl acls apply`: the brokers' ACLs made equal to the file.
 *
 * The file lists principals and what each may do; `each_county: true`
 * makes one principal per county of `counties:`, with "{county}" replaced
 * in its user and resource names. Topic names starting "tuodi." follow
 * --prefix / topic_prefix as everywhere in tuodictl. The plan compares the
 * expanded policy with every ACL the brokers hold (tdt_kwire): what the
 * policy has and the brokers lack is added, what the brokers have and the
 * policy lacks is removed, except ACLs of the principals under `keep:`
 * (other applications on the same cluster). Adds go first, so a changed
 * grant never leaves a gap. Running it twice changes nothing the second
 * time. */
#include "tdt.h"
#include "td_suggest.h"
#include "td_time.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char *const tdt_pattern_names[] = {"literal", "prefixed", NULL};

static const td_cfg_entry tdt_acl_rule_table[] = {
    TD_CFG_STRING("topic", tdt_acl_rule, topic, NULL, "A topic (names starting tuodi. follow "
                  "the prefix)"),
    TD_CFG_STRING("group", tdt_acl_rule, group, NULL, "A consumer group"),
    TD_CFG_STRING("transactional_id", tdt_acl_rule, transactional_id, NULL,
                  "A transactional id"),
    TD_CFG_BOOL("cluster", tdt_acl_rule, cluster, "false", "The cluster itself"),
    TD_CFG_ENUM("pattern", tdt_acl_rule, pattern, "literal", tdt_pattern_names,
                "literal: exactly this name; prefixed: every name starting so"),
    TD_CFG_STRINGS("ops", tdt_acl_rule, ops, nops,
                   "Operations: Read, Write, Create, Delete, Alter, Describe, ClusterAction, "
                   "DescribeConfigs, AlterConfigs, IdempotentWrite, All",
                   TD_CFG_REQUIRED),
    TD_CFG_END,
};

static const td_cfg_entry tdt_acl_principal_table[] = {
    TD_CFG_STRING("user", tdt_acl_principal, user, NULL,
                  "The SASL user (principal User:<user>); {county} with each_county",
                  TD_CFG_REQUIRED),
    TD_CFG_STRING("doc", tdt_acl_principal, doc, "", "Who this is"),
    TD_CFG_BOOL("each_county", tdt_acl_principal, each_county, "false",
                "One principal per county of counties:, {county} replaced"),
    TD_CFG_SECTIONS("allow", tdt_acl_principal, allow, nallow, tdt_acl_rule,
                    tdt_acl_rule_table, "What it may do", TD_CFG_REQUIRED),
    TD_CFG_END,
};

const td_cfg_entry tdt_acl_policy_table[] = {
    TD_CFG_STRINGS("counties", tdt_acl_policy, counties, ncounties,
                   "County codes (6 digits) for the each_county principals"),
    TD_CFG_STRINGS("keep", tdt_acl_policy, keep, nkeep,
                   "Users whose ACLs this policy leaves alone (other applications)"),
    TD_CFG_STRINGS("super_users", tdt_acl_policy, super_users, nsuper_users,
                   "Users the brokers' super.users names (they need no ACL; any ACL of "
                   "theirs is removed like any other not in the policy)"),
    TD_CFG_SECTIONS("principals", tdt_acl_policy, principals, nprincipals, tdt_acl_principal,
                    tdt_acl_principal_table, "Every principal and what it may do",
                    TD_CFG_REQUIRED),
    TD_CFG_END,
};

/* ---- names ---- */

static const struct {
    int8_t code;
    const char *name;
} tdt_ops[] = {
    {2, "All"},       {3, "Read"},           {4, "Write"},           {5, "Create"},
    {6, "Delete"},    {7, "Alter"},          {8, "Describe"},        {9, "ClusterAction"},
    {10, "DescribeConfigs"}, {11, "AlterConfigs"}, {12, "IdempotentWrite"},
    {13, "CreateTokens"}, {14, "DescribeTokens"},
};
#define TDT_NOPS (sizeof(tdt_ops) / sizeof(tdt_ops[0]))

const char *tdt_acl_op_name(int8_t op)
{
    for (size_t i = 0; i < TDT_NOPS; i++)
        if (tdt_ops[i].code == op)
            return tdt_ops[i].name;
    return "?";
}

static int tdt_acl_op_parse(const char *s)
{
    for (size_t i = 0; i < TDT_NOPS; i++)
        if (strcasecmp(tdt_ops[i].name, s) == 0)
            return tdt_ops[i].code;
    return -1;
}

const char *tdt_acl_type_name(int8_t t)
{
    switch (t) {
    case TDT_ACL_TOPIC: return "topic";
    case TDT_ACL_GROUP: return "group";
    case TDT_ACL_CLUSTER: return "cluster";
    case TDT_ACL_TRANSACTIONAL_ID: return "transactional_id";
    case 6: return "delegation_token";
    case 7: return "user";
    default: return "?";
    }
}

/* ---- the file ---- */

static bool tdt_county_ok(const char *c)
{
    if (strlen(c) != 6)
        return false;
    for (const char *p = c; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    return true;
}

static int tdt_acl_policy_check(tdt_acl_policy *p, const char *name, td_error *err)
{
    int r = 0;
    bool any_each = false;
    for (size_t i = 0; i < p->ncounties; i++) {
        if (!tdt_county_ok(p->counties[i]))
            r = td_error_append(err, -EINVAL, "%s: counties[%zu]: \"%s\" is not a county code "
                                "(6 digits)", name, i, p->counties[i]);
        for (size_t j = 0; j < i; j++)
            if (strcmp(p->counties[i], p->counties[j]) == 0)
                r = td_error_append(err, -EINVAL, "%s: counties[%zu]: %s is listed twice",
                                    name, i, p->counties[i]);
    }
    for (size_t i = 0; i < p->nprincipals; i++) {
        const tdt_acl_principal *pr = &p->principals[i];
        bool has = strstr(pr->user, "{county}") != NULL;
        any_each |= pr->each_county;
        if (!*pr->user || strchr(pr->user, ':'))
            r = td_error_append(err, -EINVAL, "%s: principals[%zu]: user \"%s\": a user name, "
                                "without \"User:\"", name, i, pr->user);
        if (has != pr->each_county)
            r = td_error_append(err, -EINVAL, "%s: principals[%zu] (%s): %s", name, i, pr->user,
                                has ? "{county} in the user needs each_county: true"
                                    : "each_county: true needs {county} in the user");
        for (size_t j = 0; j < i; j++)
            if (strcmp(p->principals[j].user, pr->user) == 0)
                r = td_error_append(err, -EINVAL, "%s: principals[%zu]: user %s is listed twice "
                                    "(first as principals[%zu])", name, i, pr->user, j);
        for (size_t k = 0; k < p->nkeep; k++)
            if (strcmp(p->keep[k], pr->user) == 0)
                r = td_error_append(err, -EINVAL, "%s: principals[%zu]: user %s is also under "
                                    "keep:", name, i, pr->user);
        for (size_t a = 0; a < pr->nallow; a++) {
            const tdt_acl_rule *ru = &pr->allow[a];
            int kinds = !!ru->topic + !!ru->group + !!ru->transactional_id + !!ru->cluster;
            if (kinds != 1)
                r = td_error_append(err, -EINVAL, "%s: principals[%zu] (%s) allow[%zu]: name "
                                    "exactly one of topic, group, transactional_id, cluster: "
                                    "true", name, i, pr->user, a);
            if (ru->cluster && ru->pattern != TDT_PATTERN_LITERAL)
                r = td_error_append(err, -EINVAL, "%s: principals[%zu] (%s) allow[%zu]: the "
                                    "cluster takes no pattern", name, i, pr->user, a);
            if ((ru->topic && !*ru->topic) || (ru->group && !*ru->group) ||
                (ru->transactional_id && !*ru->transactional_id))
                r = td_error_append(err, -EINVAL, "%s: principals[%zu] (%s) allow[%zu]: empty "
                                    "name", name, i, pr->user, a);
            if (ru->nops == 0)
                r = td_error_append(err, -EINVAL, "%s: principals[%zu] (%s) allow[%zu]: ops "
                                    "is empty", name, i, pr->user, a);
            for (size_t o = 0; o < ru->nops; o++)
                if (tdt_acl_op_parse(ru->ops[o]) < 0) {
                    const char *near = NULL;
                    for (size_t q = 0; !near && q < TDT_NOPS; q++)
                        if (td_edit_distance(ru->ops[o], tdt_ops[q].name, 2) <= 2)
                            near = tdt_ops[q].name;
                    r = td_error_append(err, -EINVAL, "%s: principals[%zu] (%s) allow[%zu]: "
                                        "unknown operation \"%s\"%s%s%s", name, i, pr->user, a,
                                        ru->ops[o], near ? " (did you mean " : "",
                                        near ? near : "", near ? "?)" : "");
                }
        }
    }
    if (any_each && p->ncounties == 0)
        r = td_error_append(err, -EINVAL, "%s: each_county principals but no counties:", name);
    if (r < 0)
        td_config_free(tdt_acl_policy_table, p);
    return r;
}

int tdt_acl_policy_load(const char *path, tdt_acl_policy *out, td_error *err)
{
    int r = td_config_load_file(tdt_acl_policy_table, path, out, err);
    if (r < 0)
        return r;
    td_error_clear(err);
    return tdt_acl_policy_check(out, path, err);
}

int tdt_acl_policy_load_string(const char *name, const char *yaml, tdt_acl_policy *out,
                               td_error *err)
{
    int r = td_config_load_string(tdt_acl_policy_table, name, yaml, out, err);
    if (r < 0)
        return r;
    td_error_clear(err);
    return tdt_acl_policy_check(out, name, err);
}

void tdt_acl_policy_free(tdt_acl_policy *p)
{
    td_config_free(tdt_acl_policy_table, p);
}

/* ---- expansion ---- */

/* s with every "{county}" replaced by county (malloc'd). */
static char *tdt_subst(const char *s, const char *county)
{
    size_t n = strlen(s) + 1;
    const char *p;
    char *out, *o;
    for (p = s; county && (p = strstr(p, "{county}")); p += 8)
        n += 6;
    out = malloc(n);
    if (!out)
        return NULL;
    for (o = out; *s;) {
        if (county && strncmp(s, "{county}", 8) == 0) {
            memcpy(o, county, 6);
            o += 6;
            s += 8;
        } else {
            *o++ = *s++;
        }
    }
    *o = 0;
    return out;
}

static int tdt_acl_cmp(const void *a_, const void *b_)
{
    const tdt_acl *a = a_, *b = b_;
    int c = strcmp(a->principal, b->principal);
    if (c)
        return c;
    if (a->restype != b->restype)
        return a->restype - b->restype;
    if ((c = strcmp(a->name, b->name)))
        return c;
    if (a->pattern != b->pattern)
        return a->pattern - b->pattern;
    if ((c = strcmp(a->host, b->host)))
        return c;
    if (a->op != b->op)
        return a->op - b->op;
    return a->perm - b->perm;
}

typedef struct tdt_acl_vec {
    tdt_acl *v;
    size_t n, cap;
} tdt_acl_vec;

static int tdt_acl_vec_push(tdt_acl_vec *vec, int8_t type, const char *name, int8_t pattern,
                            const char *user, int8_t op)
{
    if (vec->n == vec->cap) {
        size_t nc = vec->cap ? vec->cap * 2 : 64;
        tdt_acl *nv = realloc(vec->v, nc * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        vec->v = nv;
        vec->cap = nc;
    }
    tdt_acl *a = &vec->v[vec->n];
    size_t pl = strlen(user) + 6;
    a->restype = type;
    a->pattern = pattern;
    a->op = op;
    a->perm = TDT_ACL_ALLOW;
    a->name = strdup(name);
    a->host = strdup("*");
    a->principal = malloc(pl);
    if (!a->name || !a->host || !a->principal) {
        free(a->name);
        free(a->host);
        free(a->principal);
        return -ENOMEM;
    }
    snprintf(a->principal, pl, "User:%s", user);
    vec->n++;
    return 0;
}

int tdt_acl_policy_expand(const tdt_acl_policy *p, const char *prefix, tdt_acl **ret,
                          size_t *ret_n, td_error *err)
{
    tdt_acl_vec vec = {0};
    int r = 0;

    for (size_t i = 0; r == 0 && i < p->nprincipals; i++) {
        const tdt_acl_principal *pr = &p->principals[i];
        size_t nc = pr->each_county ? p->ncounties : 1;
        for (size_t c = 0; r == 0 && c < nc; c++) {
            const char *county = pr->each_county ? p->counties[c] : NULL;
            char *user = tdt_subst(pr->user, county);
            if (!user) {
                r = -ENOMEM;
                break;
            }
            for (size_t a = 0; r == 0 && a < pr->nallow; a++) {
                const tdt_acl_rule *ru = &pr->allow[a];
                int8_t type = ru->topic ? TDT_ACL_TOPIC
                              : ru->group ? TDT_ACL_GROUP
                              : ru->transactional_id ? TDT_ACL_TRANSACTIONAL_ID
                                                     : TDT_ACL_CLUSTER;
                const char *raw = ru->topic ? ru->topic
                                  : ru->group ? ru->group
                                  : ru->transactional_id ? ru->transactional_id
                                                         : "kafka-cluster";
                char *name1 = tdt_subst(raw, county);
                char *name = name1 && type == TDT_ACL_TOPIC ? tdt_topic_rename(name1, prefix)
                                                            : name1 ? strdup(name1) : NULL;
                free(name1);
                if (!name) {
                    r = -ENOMEM;
                    break;
                }
                for (size_t o = 0; r == 0 && o < ru->nops; o++)
                    r = tdt_acl_vec_push(&vec, type, name,
                                         ru->pattern == TDT_PATTERN_PREFIXED
                                             ? TDT_ACL_PREFIXED : TDT_ACL_LITERAL,
                                         user, (int8_t)tdt_acl_op_parse(ru->ops[o]));
                free(name);
            }
            free(user);
        }
    }
    if (r < 0) {
        tdt_acls_free(vec.v, vec.n);
        return td_error_set(err, r, "out of memory");
    }
    /* sorted, without repeats (two rules may grant the same) */
    if (vec.n)
        qsort(vec.v, vec.n, sizeof(*vec.v), tdt_acl_cmp);
    size_t k = 0;
    for (size_t i = 0; i < vec.n; i++) {
        if (k && tdt_acl_cmp(&vec.v[k - 1], &vec.v[i]) == 0) {
            free(vec.v[i].name);
            free(vec.v[i].host);
            free(vec.v[i].principal);
            continue;
        }
        vec.v[k++] = vec.v[i];
    }
    *ret = vec.v;
    *ret_n = k;
    return 0;
}

/* ---- the plan ---- */

static bool tdt_acl_kept(const tdt_acl_policy *p, const char *principal)
{
    if (strncmp(principal, "User:", 5) != 0)
        return false;
    for (size_t k = 0; k < p->nkeep; k++)
        if (strcmp(p->keep[k], principal + 5) == 0)
            return true;
    return false;
}

int tdt_acl_plan(const tdt_acl_policy *p, tdt_acl *want, size_t nwant, tdt_acl *have,
                 size_t nhave, tdt_acl_plan_t *plan, td_error *err)
{
    size_t i = 0, j = 0;
    memset(plan, 0, sizeof(*plan));
    plan->add = calloc(nwant ? nwant : 1, sizeof(*plan->add));
    plan->remove = calloc(nhave ? nhave : 1, sizeof(*plan->remove));
    if (!plan->add || !plan->remove) {
        free(plan->add);
        free(plan->remove);
        return td_error_set(err, -ENOMEM, "out of memory");
    }
    if (nhave)
        qsort(have, nhave, sizeof(*have), tdt_acl_cmp);
    while (i < nwant || j < nhave) {
        int c = i == nwant ? 1 : j == nhave ? -1 : tdt_acl_cmp(&want[i], &have[j]);
        if (c == 0) {
            plan->same++;
            i++;
            j++;
        } else if (c < 0) {
            plan->add[plan->nadd++] = &want[i++];
        } else {
            if (tdt_acl_kept(p, have[j].principal))
                plan->kept++;
            else
                plan->remove[plan->nremove++] = &have[j];
            j++;
        }
    }
    return 0;
}

void tdt_acl_plan_free(tdt_acl_plan_t *plan)
{
    free(plan->add);
    free(plan->remove);
    memset(plan, 0, sizeof(*plan));
}

void tdt_acl_print(FILE *out, char sign, const tdt_acl *a)
{
    fprintf(out, "%c %s %s %s %s %s%s%s%s\n", sign,
            a->perm == TDT_ACL_ALLOW ? "allow" : a->perm == TDT_ACL_DENY ? "deny" : "?",
            a->principal, tdt_acl_op_name(a->op), tdt_acl_type_name(a->restype), a->name,
            a->pattern == TDT_ACL_PREFIXED ? "*" : "", strcmp(a->host, "*") ? " from " : "",
            strcmp(a->host, "*") ? a->host : "");
}

/* Copies the pointed-to ACLs into a plain array for tdt_kwire. */
static tdt_acl *tdt_acl_flat(tdt_acl **v, size_t n)
{
    tdt_acl *f = calloc(n ? n : 1, sizeof(*f));
    if (f)
        for (size_t i = 0; i < n; i++)
            f[i] = *v[i];
    return f;
}

/* CreateAcls and DeleteAcls answer when the controller has committed the
 * change; a broker applies it when it replays the metadata log, a moment
 * later. A program started right after apply could still be refused (seen
 * in deploy/demo --secure: 80 ms after apply, the connector was refused its
 * transactional id). So apply returns only when the broker it talks to
 * answers DescribeAcls with exactly the policy (its authorizer's state), or
 * fails after the config's timeout. */
static int tdt_acl_wait(const tdt_config *cfg, const tdt_acl_policy *p, tdt_acl *want,
                        size_t nwant, tdt_kwire *w, int64_t *waited, td_error *err)
{
    int64_t t0 = td_time_mono_ms();
    for (;;) {
        tdt_acl *have = NULL;
        size_t nhave = 0;
        tdt_acl_plan_t plan;
        bool done;
        int r = tdt_kwire_describe_acls(w, &have, &nhave, err);
        if (r == 0)
            r = tdt_acl_plan(p, want, nwant, have, nhave, &plan, err);
        if (r < 0) {
            tdt_acls_free(have, nhave);
            return r;
        }
        done = plan.nadd == 0 && plan.nremove == 0;
        if (!done && td_time_mono_ms() - t0 > cfg->timeout_ms)
            r = td_error_set(err, -ETIMEDOUT, "kafka: the broker does not show the changed "
                             "ACLs after %" PRId64 " ms (%zu still to add, %zu to remove): "
                             "run tuodictl acls apply --dry-run to see them", cfg->timeout_ms,
                             plan.nadd, plan.nremove);
        tdt_acl_plan_free(&plan);
        tdt_acls_free(have, nhave);
        if (r < 0)
            return r;
        if (done)
            break;
        usleep(100 * 1000);
    }
    *waited = td_time_mono_ms() - t0;
    return 0;
}

int tdt_acl_apply(const tdt_config *cfg, const tdt_acl_policy *p, bool dry, FILE *out,
                  td_error *err)
{
    int64_t waited = 0;
    tdt_acl *want = NULL, *have = NULL, *flat = NULL;
    size_t nwant = 0, nhave = 0;
    tdt_acl_plan_t plan = {0};
    tdt_kwire *w = NULL;
    int r;

    r = tdt_acl_policy_expand(p, cfg->topic_prefix, &want, &nwant, err);
    if (r < 0)
        return r;
    r = tdt_kwire_open(&cfg->kafka, (int)cfg->timeout_ms, &w, err);
    if (r < 0)
        goto out;
    r = tdt_kwire_describe_acls(w, &have, &nhave, err);
    if (r < 0)
        goto out;
    r = tdt_acl_plan(p, want, nwant, have, nhave, &plan, err);
    if (r < 0)
        goto out;
    for (size_t i = 0; i < plan.nadd; i++)
        tdt_acl_print(out, '+', plan.add[i]);
    for (size_t i = 0; i < plan.nremove; i++)
        tdt_acl_print(out, '-', plan.remove[i]);
    if (!dry && plan.nadd) {
        if (!(flat = tdt_acl_flat(plan.add, plan.nadd))) {
            r = td_error_set(err, -ENOMEM, "out of memory");
            goto out;
        }
        if ((r = tdt_kwire_create_acls(w, flat, plan.nadd, err)) < 0)
            goto out;
        free(flat);
        flat = NULL;
    }
    if (!dry && plan.nremove) {
        if (!(flat = tdt_acl_flat(plan.remove, plan.nremove))) {
            r = td_error_set(err, -ENOMEM, "out of memory");
            goto out;
        }
        if ((r = tdt_kwire_delete_acls(w, flat, plan.nremove, err)) < 0)
            goto out;
    }
    if (!dry && (plan.nadd || plan.nremove) &&
        (r = tdt_acl_wait(cfg, p, want, nwant, w, &waited, err)) < 0)
        goto out;
    fprintf(out, "acls: %zu %s, %zu %s, %zu unchanged, %zu kept (users under keep:)%s",
            plan.nadd, dry ? "to add" : "added", plan.nremove, dry ? "to remove" : "removed",
            plan.same, plan.kept, dry ? " (dry run: nothing changed)" : "");
    if (!dry && (plan.nadd || plan.nremove))
        fprintf(out, "; in effect on the broker after %" PRId64 " ms", waited);
    fputc('\n', out);
out:
    free(flat);
    tdt_acl_plan_free(&plan);
    tdt_kwire_close(w);
    tdt_acls_free(want, nwant);
    tdt_acls_free(have, nhave);
    return r;
}
