/* tuodictl acls without a broker: the policy file's errors, the shipped
 * deploy/acls.yaml (what each party can and cannot do, checked binding by
 * binding), expansion under a prefix, the add/remove plan, and tdt_kwire's
 * answers from a fake broker (a real one is in tests/integration/itest_acls.c):
 * a transactional-id ACL read back as one, malformed answers refused. */
#include "td_test.h"
#include "tdt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- the policy file ---- */

static int load(const char *yaml, tdt_acl_policy *p, td_error *err)
{
    memset(p, 0, sizeof(*p));
    memset(err, 0, sizeof(*err));
    return tdt_acl_policy_load_string("acls.yaml", yaml, p, err);
}

static void test_errors(void)
{
    tdt_acl_policy p;
    td_error err;

    CU_ASSERT(load("principals:\n  - user: a\n    allow:\n      - topic: t\n"
                   "        ops: [Wirte]\n", &p, &err) == -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "unknown operation \"Wirte\" (did you mean Write?)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "principals[0] (a) allow[0]"));

    CU_ASSERT(load("principals:\n  - user: a\n    allow:\n      - topic: t\n        group: g\n"
                   "        ops: [Read]\n", &p, &err) == -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "exactly one of topic, group"));

    CU_ASSERT(load("principals:\n  - user: a\n    allow:\n      - ops: [Read]\n", &p, &err) ==
              -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "exactly one of topic, group"));

    CU_ASSERT(load("counties: [\"340421\"]\nprincipals:\n  - user: county-{county}\n"
                   "    allow:\n      - topic: t\n        ops: [Read]\n", &p, &err) == -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "needs each_county: true"));

    CU_ASSERT(load("principals:\n  - user: c-{county}\n    each_county: true\n    allow:\n"
                   "      - topic: t\n        ops: [Read]\n", &p, &err) == -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "each_county principals but no counties:"));

    CU_ASSERT(load("counties: [\"34042\"]\nprincipals: []\n", &p, &err) == -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "not a county code"));

    CU_ASSERT(load("keep: [a]\nprincipals:\n  - user: a\n    allow: []\n  - user: a\n"
                   "    allow: []\n", &p, &err) == -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "user a is listed twice"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "also under keep:"));

    CU_ASSERT(load("principals:\n  - user: User:a\n    allow: []\n", &p, &err) == -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "without \"User:\""));

    /* td_config's own: file:line:col */
    CU_ASSERT(load("principals:\n  - user: a\n    allow:\n      - topic: t\n"
                   "        pattern: prefix\n        ops: [Read]\n", &p, &err) == -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "acls.yaml:5:18"));

    CU_ASSERT(load("principals:\n  - user: a\n    allow:\n      - cluster: true\n"
                   "        ops: [Alter]\n", &p, &err) == 0);
    tdt_acl_policy_free(&p);
}

/* ---- the shipped policy ---- */

static tdt_acl *shipped;
static size_t nshipped;
static tdt_acl_policy shipped_policy;

static void load_shipped(const char *prefix)
{
    char path[4096];
    td_error err = {0};
    tdt_acls_free(shipped, nshipped);
    shipped = NULL;
    nshipped = 0;
    tdt_acl_policy_free(&shipped_policy);
    memset(&shipped_policy, 0, sizeof(shipped_policy));
    snprintf(path, sizeof(path), "%s/deploy/acls.yaml", td_test_source_root());
    CU_ASSERT_FATAL(tdt_acl_policy_load(path, &shipped_policy, &err) == 0);
    CU_ASSERT_FATAL(tdt_acl_policy_expand(&shipped_policy, prefix, &shipped, &nshipped, &err) ==
                    0);
}

/* Does the shipped policy let user do op on the resource (type, name)?
 * As Kafka decides: a literal binding of that name, or a prefixed one the
 * name starts with; All grants every operation; Read, Write, Delete and
 * Alter imply Describe. */
static bool may(const char *user, int8_t op, int8_t type, const char *name)
{
    char principal[128];
    snprintf(principal, sizeof(principal), "User:%s", user);
    for (size_t i = 0; i < nshipped; i++) {
        const tdt_acl *a = &shipped[i];
        bool match = a->pattern == TDT_ACL_LITERAL
                         ? strcmp(a->name, name) == 0
                         : strncmp(a->name, name, strlen(a->name)) == 0;
        bool opok = a->op == op || a->op == 2 ||
                    (op == 8 && (a->op == 3 || a->op == 4 || a->op == 6 || a->op == 7));
        if (a->restype == type && match && opok && strcmp(a->principal, principal) == 0 &&
            a->perm == TDT_ACL_ALLOW)
            return true;
    }
    return false;
}

#define READ 3
#define WRITE 4
#define CREATE 5
#define DESCRIBE 8
#define T TDT_ACL_TOPIC
#define G TDT_ACL_GROUP
#define X TDT_ACL_TRANSACTIONAL_ID

static void test_shipped_policy(void)
{
    static const struct {
        const char *inst, *records, *dlq;
    } dep[] = {
        {"roster", "tuodi.roster.households", "tuodi.dlq.roster"},
        {"medical", "tuodi.medical_insurance.settlements", "tuodi.dlq.medical_insurance"},
        {"civil", "tuodi.civil_affairs.events", "tuodi.dlq.civil_affairs"},
        {"hr", "tuodi.human_resources.events", "tuodi.dlq.human_resources"},
    };
    const size_t nd = sizeof(dep) / sizeof(dep[0]);
    char user[64], name[128], other[128];

    load_shipped(NULL);
    CU_ASSERT_FATAL(nshipped > 100);
    CU_ASSERT(shipped_policy.ncounties == 7);
    for (size_t i = 0; i < nshipped; i++) {
        /* nobody but the admin deletes or alters anything; only matchd
         * creates, only its own topics */
        CU_ASSERT(shipped[i].op != 2 && shipped[i].op != 6 && shipped[i].op != 7 &&
                  shipped[i].op != 11);
        if (shipped[i].op == CREATE)
            CU_ASSERT(strcmp(shipped[i].principal, "User:matchd") == 0 &&
                      strcmp(shipped[i].name, "tuodi.matchd.") == 0 &&
                      shipped[i].pattern == TDT_ACL_PREFIXED);
        CU_ASSERT(strcmp(shipped[i].host, "*") == 0);
        CU_ASSERT(strcmp(shipped[i].principal, "User:admin") != 0);
    }
    for (size_t d = 0; d < nd; d++) {
        snprintf(user, sizeof(user), "connector-%s", dep[d].inst);
        CU_ASSERT(may(user, WRITE, T, dep[d].records));
        CU_ASSERT(!may(user, READ, T, dep[d].records));
        CU_ASSERT(may(user, WRITE, T, dep[d].dlq));
        CU_ASSERT(may(user, READ, T, dep[d].dlq));
        snprintf(name, sizeof(name), "tuodi.connect.offsets.%s", dep[d].inst);
        CU_ASSERT(may(user, WRITE, T, name));
        CU_ASSERT(may(user, READ, T, name));
        snprintf(name, sizeof(name), "tuodi-connector.%s", dep[d].inst);
        CU_ASSERT(may(user, WRITE, X, name));
        snprintf(name, sizeof(name), "tuodi-offsets-reader.%s/spooldir", dep[d].inst);
        CU_ASSERT(may(user, READ, G, name));
        CU_ASSERT(!may(user, READ, T, "tuodi.alerts.340421"));
        CU_ASSERT(!may(user, WRITE, T, "tuodi.verifications.340421"));
        CU_ASSERT(!may(user, DESCRIBE, T, "tuodi.connect.offsets"));
        for (size_t o = 0; o < nd; o++) {
            if (o == d)
                continue;
            /* another department's records, dead letters, positions, id */
            CU_ASSERT(!may(user, WRITE, T, dep[o].records));
            CU_ASSERT(!may(user, READ, T, dep[o].records));
            CU_ASSERT(!may(user, WRITE, T, dep[o].dlq));
            CU_ASSERT(!may(user, READ, T, dep[o].dlq));
            snprintf(other, sizeof(other), "tuodi.connect.offsets.%s", dep[o].inst);
            CU_ASSERT(!may(user, WRITE, T, other));
            CU_ASSERT(!may(user, READ, T, other));
            snprintf(other, sizeof(other), "tuodi-connector.%s", dep[o].inst);
            CU_ASSERT(!may(user, WRITE, X, other));
        }
        /* matchd reads the records, writes but never reads dead letters */
        CU_ASSERT(may("matchd", READ, T, dep[d].records));
        CU_ASSERT(!may("matchd", WRITE, T, dep[d].records));
        CU_ASSERT(may("matchd", WRITE, T, dep[d].dlq));
        CU_ASSERT(!may("matchd", READ, T, dep[d].dlq));
        CU_ASSERT(!may("bureau", READ, T, dep[d].dlq));
    }
    CU_ASSERT(may("matchd", WRITE, X, "tuodi-matchd.tuodi-matchd"));
    CU_ASSERT(may("matchd", READ, G, "tuodi-matchd"));
    CU_ASSERT(may("matchd", WRITE, T, "tuodi.alerts.340421"));
    CU_ASSERT(may("matchd", WRITE, T, "tuodi.alerts.unrouted"));
    CU_ASSERT(may("matchd", WRITE, T, "tuodi.suspects.340421"));
    CU_ASSERT(may("matchd", WRITE, T, "tuodi.suspects.unrouted"));
    CU_ASSERT(may("matchd", DESCRIBE, T, "tuodi.suspects.340421"));
    CU_ASSERT(!may("matchd", CREATE, T, "tuodi.suspects.340421"));
    CU_ASSERT(may("matchd", READ, T, "tuodi.verifications.340422"));
    CU_ASSERT(!may("matchd", WRITE, T, "tuodi.verifications.340422"));
    CU_ASSERT(!may("matchd", WRITE, T, "tuodi.connect.offsets.medical"));
    CU_ASSERT(may("matchd", CREATE, T, "tuodi.matchd.tuodi-matchd.clock"));
    CU_ASSERT(!may("matchd", CREATE, T, "tuodi.alerts.340421"));
    for (size_t c = 0; c < shipped_policy.ncounties; c++) {
        const char *county = shipped_policy.counties[c];
        snprintf(user, sizeof(user), "county-%s", county);
        snprintf(name, sizeof(name), "tuodi.alerts.%s", county);
        CU_ASSERT(may(user, READ, T, name));
        CU_ASSERT(!may(user, WRITE, T, name));
        snprintf(name, sizeof(name), "tuodi.suspects.%s", county);
        CU_ASSERT(may(user, READ, T, name));
        CU_ASSERT(!may(user, WRITE, T, name));
        CU_ASSERT(may("bureau", READ, T, name));
        CU_ASSERT(!may("bureau", WRITE, T, name));
        snprintf(name, sizeof(name), "tuodi.verifications.%s", county);
        CU_ASSERT(may(user, WRITE, T, name));
        CU_ASSERT(may(user, READ, G, "tuodictl-4242-1796650720270"));
        CU_ASSERT(!may(user, READ, T, "tuodi.alerts.unrouted"));
        for (size_t o = 0; o < shipped_policy.ncounties; o++) {
            if (o == c)
                continue;
            /* another county's queue, or its outcomes */
            snprintf(other, sizeof(other), "tuodi.alerts.%s", shipped_policy.counties[o]);
            CU_ASSERT(!may(user, READ, T, other));
            CU_ASSERT(!may(user, DESCRIBE, T, other));
            snprintf(other, sizeof(other), "tuodi.verifications.%s", shipped_policy.counties[o]);
            CU_ASSERT(!may(user, WRITE, T, other));
            snprintf(other, sizeof(other), "tuodi.suspects.%s", shipped_policy.counties[o]);
            CU_ASSERT(!may(user, READ, T, other));
        }
        for (size_t d = 0; d < nd; d++) {
            CU_ASSERT(!may(user, READ, T, dep[d].records));
            CU_ASSERT(!may(user, READ, T, dep[d].dlq));
        }
        CU_ASSERT(!may(user, READ, T, "tuodi.suspects.unrouted"));
        CU_ASSERT(may("bureau", READ, T, name));
    }
    CU_ASSERT(may("bureau", READ, T, "tuodi.alerts.340421"));
    CU_ASSERT(!may("bureau", WRITE, T, "tuodi.verifications.340421"));
    /* its own roster, for report --quality's persons per township; nothing
     * of a department's */
    CU_ASSERT(may("bureau", READ, T, "tuodi.roster.households"));
    CU_ASSERT(!may("bureau", WRITE, T, "tuodi.roster.households"));
    CU_ASSERT(!may("bureau", READ, T, "tuodi.civil_affairs.events"));
    CU_ASSERT(!may("bureau", READ, T, "tuodi.dlq.roster"));
}

static void test_prefix(void)
{
    load_shipped("sec");
    /* topics follow the prefix; groups and transactional ids do not */
    CU_ASSERT(may("county-340421", READ, T, "sec.alerts.340421"));
    CU_ASSERT(!may("county-340421", READ, T, "tuodi.alerts.340421"));
    CU_ASSERT(may("connector-medical", WRITE, T, "sec.medical_insurance.settlements"));
    CU_ASSERT(may("connector-medical", WRITE, X, "tuodi-connector.medical"));
    CU_ASSERT(may("matchd", READ, G, "tuodi-matchd"));
    CU_ASSERT(may("matchd", WRITE, T, "sec.alerts.340402"));
    /* sorted and without repeats */
    for (size_t i = 1; i < nshipped; i++)
        CU_ASSERT(strcmp(shipped[i - 1].principal, shipped[i].principal) < 0 ||
                  strcmp(shipped[i - 1].principal, shipped[i].principal) == 0);
    tdt_acls_free(shipped, nshipped);
    shipped = NULL;
    nshipped = 0;
    tdt_acl_policy_free(&shipped_policy);
    memset(&shipped_policy, 0, sizeof(shipped_policy));
}

/* ---- the plan ---- */

static tdt_acl acl(int8_t type, const char *name, const char *principal, int8_t op)
{
    tdt_acl a = {type, strdup(name), TDT_ACL_LITERAL, strdup(principal), strdup("*"), op,
                 TDT_ACL_ALLOW};
    return a;
}

static void test_plan(void)
{
    tdt_acl_policy p;
    td_error err;
    tdt_acl *want = NULL, *have;
    size_t nwant = 0;
    tdt_acl_plan_t plan;

    CU_ASSERT_FATAL(load("keep: [other-app]\nprincipals:\n  - user: a\n    allow:\n"
                         "      - topic: tuodi.x\n        ops: [Read, Write]\n"
                         "      - topic: tuodi.x\n        ops: [Read]\n", &p, &err) == 0);
    CU_ASSERT_FATAL(tdt_acl_policy_expand(&p, NULL, &want, &nwant, &err) == 0);
    CU_ASSERT_FATAL(nwant == 2); /* Read once */
    have = calloc(4, sizeof(*have));
    have[0] = acl(T, "tuodi.x", "User:a", READ);          /* same */
    have[1] = acl(T, "tuodi.y", "User:a", READ);          /* not granted: removed */
    have[2] = acl(T, "tuodi.x", "User:other-app", READ);  /* kept */
    have[3] = acl(X, "tuodi.x", "User:a", WRITE);         /* another type: removed */
    CU_ASSERT_FATAL(tdt_acl_plan(&p, want, nwant, have, 4, &plan, &err) == 0);
    CU_ASSERT(plan.same == 1);
    CU_ASSERT(plan.kept == 1);
    CU_ASSERT_FATAL(plan.nadd == 1);
    CU_ASSERT(plan.add[0]->op == WRITE && plan.add[0]->restype == T);
    CU_ASSERT_FATAL(plan.nremove == 2);
    CU_ASSERT(plan.remove[0]->restype == T && strcmp(plan.remove[0]->name, "tuodi.y") == 0);
    CU_ASSERT(plan.remove[1]->restype == X);
    tdt_acl_plan_free(&plan);
    tdt_acls_free(have, 4);
    tdt_acls_free(want, nwant);
    tdt_acl_policy_free(&p);
}

/* ---- tdt_kwire against a fake broker ---- */

typedef struct fake {
    int lfd;
    unsigned char answer[512]; /* after the size and correlation id */
    size_t nanswer;
    int32_t size_override; /* != 0: this size instead */
} fake;

static void *fake_run(void *arg)
{
    fake *f = arg;
    unsigned char hdr[4], req[4096], out[600];
    int fd = accept(f->lfd, NULL, NULL);
    if (fd < 0)
        return NULL;
    if (read(fd, hdr, 4) == 4) {
        uint32_t n = ((uint32_t)hdr[0] << 24) | ((uint32_t)hdr[1] << 16) | (hdr[2] << 8) | hdr[3];
        size_t got = 0;
        while (got < n && got < sizeof(req)) {
            ssize_t k = read(fd, req + got, n - got);
            if (k <= 0)
                break;
            got += (size_t)k;
        }
        uint32_t size = f->size_override ? (uint32_t)f->size_override : (uint32_t)(4 + f->nanswer);
        out[0] = (unsigned char)(size >> 24);
        out[1] = (unsigned char)(size >> 16);
        out[2] = (unsigned char)(size >> 8);
        out[3] = (unsigned char)size;
        memcpy(out + 4, req + 4, 4); /* the correlation id */
        memcpy(out + 8, f->answer, f->nanswer);
        if (write(fd, out, 8 + f->nanswer) < 0)
            (void)0;
    }
    close(fd);
    return NULL;
}

/* Opens a tdt_kwire (plaintext) to a fake broker that answers the first
 * request with f->answer; returns what describe_acls returns. */
static int fake_describe(fake *f, tdt_acl **acls, size_t *n, td_error *err)
{
    struct sockaddr_in sa = {0};
    socklen_t sl = sizeof(sa);
    td_kafka_props props = {0};
    char boot[64];
    pthread_t th;
    tdt_kwire *w = NULL;
    int r;

    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CU_ASSERT_FATAL(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    CU_ASSERT_FATAL(listen(f->lfd, 1) == 0);
    getsockname(f->lfd, (struct sockaddr *)&sa, &sl);
    snprintf(boot, sizeof(boot), "127.0.0.1:%d", ntohs(sa.sin_port));
    td_kafka_props_add(&props, "bootstrap.servers", boot, NULL);
    pthread_create(&th, NULL, fake_run, f);
    r = tdt_kwire_open(&props, 3000, &w, err);
    if (r == 0)
        r = tdt_kwire_describe_acls(w, acls, n, err);
    tdt_kwire_close(w);
    pthread_join(th, NULL);
    close(f->lfd);
    td_kafka_props_clear(&props);
    return r;
}

static size_t put_str(unsigned char *p, const char *s)
{
    size_t n = strlen(s);
    p[0] = (unsigned char)(n >> 8);
    p[1] = (unsigned char)n;
    memcpy(p + 2, s, n);
    return n + 2;
}

/* A DescribeAcls v1 answer: one transactional id with one ACL. */
static size_t describe_answer(unsigned char *p)
{
    size_t o = 0;
    memset(p, 0, 16);
    o += 4;             /* throttle */
    o += 2;             /* error 0 */
    p[o++] = 0xff;      /* error message: null */
    p[o++] = 0xff;
    p[o + 3] = 1;       /* one resource */
    o += 4;
    p[o++] = TDT_ACL_TRANSACTIONAL_ID;
    o += put_str(p + o, "tuodi-connector.medical");
    p[o++] = TDT_ACL_LITERAL;
    memset(p + o, 0, 4);
    p[o + 3] = 1;       /* one ACL */
    o += 4;
    o += put_str(p + o, "User:connector-medical");
    o += put_str(p + o, "*");
    p[o++] = WRITE;
    p[o++] = TDT_ACL_ALLOW;
    return o;
}

static void test_kwire_answers(void)
{
    fake f;
    tdt_acl *acls = NULL;
    size_t n = 0, full;
    td_error err = {0};

    memset(&f, 0, sizeof(f));
    f.nanswer = describe_answer(f.answer);
    CU_ASSERT_FATAL(fake_describe(&f, &acls, &n, &err) == 0);
    CU_ASSERT_FATAL(n == 1);
    CU_ASSERT(acls[0].restype == TDT_ACL_TRANSACTIONAL_ID);
    CU_ASSERT(strcmp(acls[0].name, "tuodi-connector.medical") == 0);
    CU_ASSERT(strcmp(acls[0].principal, "User:connector-medical") == 0);
    CU_ASSERT(acls[0].op == WRITE && acls[0].perm == TDT_ACL_ALLOW);
    tdt_acls_free(acls, n);

    /* every truncation of the answer: refused as malformed, nothing read
     * past it (ASan) */
    full = describe_answer(f.answer);
    for (size_t cut = 0; cut < full; cut++) {
        memset(&f, 0, sizeof(f));
        describe_answer(f.answer);
        f.nanswer = cut;
        acls = NULL;
        n = 0;
        memset(&err, 0, sizeof(err));
        CU_ASSERT(fake_describe(&f, &acls, &n, &err) == -EPROTO);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "malformed DescribeAcls answer"));
    }

    /* a count larger than the answer */
    memset(&f, 0, sizeof(f));
    f.nanswer = describe_answer(f.answer);
    f.answer[8] = 0x7f;
    CU_ASSERT(fake_describe(&f, &acls, &n, &err) == -EPROTO);

    /* an error code: named; a broker without an authorizer */
    memset(&f, 0, sizeof(f));
    f.nanswer = describe_answer(f.answer);
    f.answer[5] = 54; /* SECURITY_DISABLED */
    CU_ASSERT(fake_describe(&f, &acls, &n, &err) == -ENOTSUP);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "no authorizer"));

    /* an absurd size (a TLS listener's alert, read as a size) */
    memset(&f, 0, sizeof(f));
    f.nanswer = describe_answer(f.answer);
    f.size_override = 0x15030300;
    CU_ASSERT(fake_describe(&f, &acls, &n, &err) == -EPROTO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "not Kafka's protocol"));
}

static void add_suites(void)
{
    td_test_suite("acls", NULL, NULL);
    td_test_add("policy file errors", test_errors);
    td_test_add("the shipped policy: each party exactly its job", test_shipped_policy);
    td_test_add("prefix: topics renamed, groups and ids not", test_prefix);
    td_test_add("plan: add, remove, unchanged, kept", test_plan);
    td_test_add("kwire: answers parsed, malformed ones refused", test_kwire_answers);
}

TD_TEST_MAIN(add_suites)
