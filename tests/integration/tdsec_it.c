/* tdsec_it: see tdsec_it.h. */
#include "tdsec_it.h"

#include "td_proc.h"
#include "td_test.h"
#include "td_time.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

char tdsec_tmp[1024], tdsec_kdir[1024], tdsec_boot[1024], tdsec_prefix[64];

static const char *tdsec_build_root(void)
{
    const char *b = getenv("TD_BUILD_ROOT");
    return b ? b : "build";
}

const char *tdsec_it_tuodictl_bin(void)
{
    static char path[4096];
    snprintf(path, sizeof(path), "%s/tools/tuodictl/tuodictl", tdsec_build_root());
    return path;
}

const char *tdsec_it_matchd_bin(void)
{
    static char path[4096];
    snprintf(path, sizeof(path), "%s/daemon/tuodi-matchd", tdsec_build_root());
    return path;
}

int tdsec_it_start(const char *name, const char *prefix)
{
    char cmd[16384], log[4200];
    char *d = td_test_tmpdir();
    FILE *p;
    int64_t t0 = td_time_mono_ms();

    if (!d)
        return -1;
    snprintf(tdsec_tmp, sizeof(tdsec_tmp), "%s", d);
    free(d);
    snprintf(tdsec_prefix, sizeof(tdsec_prefix), "%s", prefix);
    snprintf(tdsec_kdir, sizeof(tdsec_kdir), "%s/%s-%d", tdsec_build_root(), name, (int)getpid());
    setenv("KAFKA_HEAP_OPTS", "-Xmx256m -Xms64m", 0);
    snprintf(cmd, sizeof(cmd), "%s/deploy/kafka/dev-broker start --fresh --secure --dir %s "
             "2>>%s/dev-broker.log", td_test_source_root(), tdsec_kdir, tdsec_tmp);
    p = popen(cmd, "r");
    if (!p)
        return -1;
    if (!fgets(tdsec_boot, sizeof(tdsec_boot), p))
        tdsec_boot[0] = '\0';
    pclose(p);
    tdsec_boot[strcspn(tdsec_boot, "\n")] = '\0';
    snprintf(log, sizeof(log), "%s/dev-broker.log", tdsec_tmp);
    if (!tdsec_boot[0]) {
        fprintf(stderr, "\n    --- dev-broker start --secure (%s) ---\n", log);
        td_proc_show_log(log, 30);
        return -1;
    }
    /* its stderr says where the CA and the passwords are */
    if (td_proc_log_count(log, "/tls/ca.pem") < 1 || td_proc_log_count(log, "/users/") < 1) {
        fprintf(stderr, "\n    --- dev-broker start --secure: no CA or password location "
                "(%s) ---\n", log);
        td_proc_show_log(log, 30);
        return -1;
    }
    printf("\n    secured broker up in %.1f s: %s\n", (td_time_mono_ms() - t0) / 1000.0,
           tdsec_boot);
    return 0;
}

void tdsec_it_stop(void)
{
    char cmd[8192];
    snprintf(cmd, sizeof(cmd), "%s/deploy/kafka/dev-broker stop --dir %s 2>/dev/null",
             td_test_source_root(), tdsec_kdir);
    if (system(cmd) != 0)
        fprintf(stderr, "dev-broker stop failed\n");
    td_test_rmtree(tdsec_kdir);
    td_test_rmtree(tdsec_tmp);
}

const char *tdsec_it_pwfile(const char *user)
{
    static char path[4][4096];
    static int i;
    i = (i + 1) % 4;
    snprintf(path[i], sizeof(path[i]), "%s/users/%s.password", tdsec_kdir, user);
    return path[i];
}

void tdsec_it_kafka_yaml(char *out, size_t size, const char *proto, const char *user,
                         const char *pwfile, bool ca)
{
    if (strcmp(proto, "plaintext") == 0) {
        snprintf(out, size, "kafka:\n  bootstrap.servers: \"%s\"\n", tdsec_boot);
        return;
    }
    snprintf(out, size,
             "kafka:\n  bootstrap.servers: \"%s\"\n  security.protocol: %s\n"
             "  sasl.mechanisms: PLAIN\n  sasl.username: %s\n"
             "  sasl.password: ${file:%s}\n%s%s%s",
             tdsec_boot, proto, user, pwfile, ca ? "  ssl.ca.location: " : "",
             ca ? tdsec_kdir : "", ca ? "/tls/ca.pem\n" : "");
}

const char *tdsec_it_ctl_config_as(const char *name, const char *proto, const char *user,
                                   const char *pwfile, bool ca, const char *extra)
{
    static char path[4096];
    char k[4096], text[16384];
    tdsec_it_kafka_yaml(k, sizeof(k), proto, user, pwfile, ca);
    snprintf(path, sizeof(path), "%s/%s.yaml", tdsec_tmp, name);
    snprintf(text, sizeof(text),
             "%sschemas_dir: %s/schemas\nplaces: %s/deploy/data/huainan-divisions.csv\n"
             "topics_file: %s/deploy/topics.yaml\nacls_file: %s/deploy/acls.yaml\n"
             "topic_prefix: %s\nreplication_factor: 1\ntimeout: 20s\n%s",
             k, td_test_source_root(), td_test_source_root(), td_test_source_root(),
             td_test_source_root(), tdsec_prefix, extra ? extra : "");
    if (td_test_write_file(path, text) != 0)
        return NULL;
    return path;
}

const char *tdsec_it_ctl_config(const char *name, const char *user, const char *extra)
{
    return tdsec_it_ctl_config_as(name, "SASL_SSL", user, tdsec_it_pwfile(user), true, extra);
}

int tdsec_it_run(const char *bin, const char *const *argv, const char *log, int timeout_ms,
                 int64_t *ms)
{
    int64_t t0 = td_time_mono_ms();
    pid_t pid = td_proc_spawn(bin, argv, log);
    int st = -1;
    if (pid <= 0)
        return -1;
    for (;;) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid)
            break;
        if (td_time_mono_ms() - t0 > timeout_ms) {
            td_proc_stop(pid, SIGKILL, 5000);
            st = -1;
            break;
        }
        usleep(50 * 1000);
    }
    *ms = td_time_mono_ms() - t0;
    if (st != -1 && WIFEXITED(st))
        return WEXITSTATUS(st);
    return -1;
}

int tdsec_it_ctl(const char *cfg, const char *log, int64_t *ms, ...)
{
    const char *argv[20] = {"tuodictl", "--config", cfg};
    int n = 3;
    va_list ap;
    va_start(ap, ms);
    for (const char *a; n < 19 && (a = va_arg(ap, const char *));)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    return tdsec_it_run(tdsec_it_tuodictl_bin(), argv, log, 60000, ms);
}

bool tdsec_it_log_has(const char *log, const char *text)
{
    bool yes = td_proc_log_count(log, text) > 0;
    if (!yes) {
        fprintf(stderr, "\n    expected in %s: %s\n", log, text);
        td_proc_show_log(log, 30);
    }
    return yes;
}

void tdsec_it_admin_props(td_kafka_props *p)
{
    char pw[256] = "", *text = td_test_read_file(tdsec_it_pwfile("admin"), NULL), ca[4200];
    if (text) {
        snprintf(pw, sizeof(pw), "%.*s", (int)strcspn(text, "\n"), text);
        free(text);
    }
    snprintf(ca, sizeof(ca), "%s/tls/ca.pem", tdsec_kdir);
    td_kafka_props_add(p, "bootstrap.servers", tdsec_boot, NULL);
    td_kafka_props_add(p, "security.protocol", "SASL_SSL", NULL);
    td_kafka_props_add(p, "sasl.mechanisms", "PLAIN", NULL);
    td_kafka_props_add(p, "sasl.username", "admin", NULL);
    td_kafka_props_add(p, "sasl.password", pw, NULL);
    td_kafka_props_add(p, "ssl.ca.location", ca, NULL);
}

long tdsec_it_count_as_admin(const char *topic, int partitions)
{
    td_kafka_props props = {0};
    rd_kafka_conf_t *conf = NULL;
    rd_kafka_t *rk = NULL;
    rd_kafka_topic_t *rkt = NULL;
    const struct rd_kafka_metadata *md = NULL;
    td_error err = {0};
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(partitions);
    long n = 0;
    bool *seen = NULL, *done = NULL; /* an end shown; the end at the high watermark */
    int nseen = 0, ndone = 0;
    int64_t until = td_time_mono_ms() + 30000, settle = 0;

    tdsec_it_admin_props(&props);
    td_kafka_props_add(&props, "enable.partition.eof", "true", NULL);
    /* a fetch at a partition's end comes back after 10 ms, not 500 */
    td_kafka_props_add(&props, "fetch.wait.max.ms", "10", NULL);
    if (td_kafka_consumer_conf_new(NULL, "tdsec-admin", &props, &conf, &err) < 0 ||
        td_kafka_new(RD_KAFKA_CONSUMER, conf, &rk, &err) < 0) {
        fprintf(stderr, "count_as_admin: %s\n", err.msg);
        n = -1;
        goto out;
    }
    /* the leaders before the assignment: without them librdkafka asks for
     * the first offsets only 500 ms later */
    rkt = rd_kafka_topic_new(rk, topic, NULL);
    if (!rkt || rd_kafka_metadata(rk, 0, rkt, &md, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "count_as_admin: no metadata of %s\n", topic);
        n = -1;
        goto out;
    }
    rd_kafka_metadata_destroy(md);
    for (int p = 0; p < partitions; p++)
        rd_kafka_topic_partition_list_add(l, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    if (rd_kafka_assign(rk, l) != 0) {
        n = -1;
        goto out;
    }
    /* A partition is read to its end when the end of its committed records
     * (read_committed: its last stable offset) is its high watermark. Right
     * after a commit it may not be yet: the coordinator writes the commit
     * markers after EndTxn has answered, and the records are not readable
     * before. So past an end below the high watermark, wait for a later
     * one, up to 2 s after every partition has shown an end (a transaction
     * still open then is not committed). */
    seen = calloc((size_t)partitions, sizeof(*seen));
    done = calloc((size_t)partitions, sizeof(*done));
    if (!seen || !done) {
        n = -1;
        goto out;
    }
    while (ndone < partitions && td_time_mono_ms() < until &&
           (nseen < partitions || td_time_mono_ms() < settle)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 50);
        int64_t lo, hi;
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF && m->partition >= 0 &&
            m->partition < partitions) {
            if (!seen[m->partition] && ++nseen == partitions)
                settle = td_time_mono_ms() + 2000;
            seen[m->partition] = true;
            if (!done[m->partition] &&
                rd_kafka_get_watermark_offsets(rk, topic, m->partition, &lo, &hi) == 0 &&
                m->offset >= hi) {
                done[m->partition] = true;
                ndone++;
            }
        } else if (!m->err) {
            n++;
        }
        rd_kafka_message_destroy(m);
    }
    if (nseen < partitions)
        n = -1;
    /* the group coordinator's connection up before the destroy: closed in
     * its SASL handshake, librdkafka reports an authentication failure */
    (void)rd_kafka_committed(rk, l, 10000);
out:
    if (n < 0) {
        fprintf(stderr, "count_as_admin: %s not read to its end\n", topic);
        CU_FAIL("a topic not read to its end as admin");
    }
    free(seen);
    free(done);
    rd_kafka_topic_partition_list_destroy(l);
    if (rkt)
        rd_kafka_topic_destroy(rkt);
    td_kafka_destroy(rk);
    td_kafka_props_clear(&props);
    return n;
}

/* Kafka's code of an operation's name, -1 if there is none. */
static int tdsec_op(const char *name)
{
    for (int c = 0; c < 64; c++)
        if (strcmp(tdt_acl_op_name((int8_t)c), name) == 0)
            return c;
    return -1;
}

static bool tdsec_same(const tdt_acl *a, const tdt_acl *b)
{
    return a->restype == b->restype && a->pattern == b->pattern && a->op == b->op &&
           a->perm == b->perm && strcmp(a->name, b->name) == 0 &&
           strcmp(a->principal, b->principal) == 0 && strcmp(a->host, b->host) == 0;
}

/* tdsec_it_grant (add) and tdsec_it_ungrant: see tdsec_it.h. */
static int tdsec_acls(bool add, const char *user, int type, const char *name, int pattern,
                      va_list ap)
{
    char principal[256];
    tdt_acl a[16];
    size_t n = 0;
    td_kafka_props props = {0};
    tdt_kwire *w = NULL;
    td_error err = {0};
    int64_t t0 = td_time_mono_ms();
    int r = 0;

    snprintf(principal, sizeof(principal), "User:%s", user);
    for (const char *op; (op = va_arg(ap, const char *));) {
        int code = tdsec_op(op);
        if (code < 0 || n == sizeof(a) / sizeof(a[0])) {
            fprintf(stderr, "tdsec_it_grant: %s: no such operation, or too many\n", op);
            return -1;
        }
        a[n++] = (tdt_acl){.restype = (int8_t)type, .name = (char *)name,
                           .pattern = (int8_t)pattern, .principal = principal,
                           .host = (char *)"*", .op = (int8_t)code, .perm = TDT_ACL_ALLOW};
    }
    tdsec_it_admin_props(&props);
    r = tdt_kwire_open(&props, 10000, &w, &err);
    if (r == 0)
        r = add ? tdt_kwire_create_acls(w, a, n, &err) : tdt_kwire_delete_acls(w, a, n, &err);
    /* the controller has them; wait until the broker's authorizer does */
    while (r == 0) {
        tdt_acl *have = NULL;
        size_t nhave = 0, seen = 0;
        r = tdt_kwire_describe_acls(w, &have, &nhave, &err);
        for (size_t i = 0; r == 0 && i < n; i++)
            for (size_t j = 0; j < nhave; j++)
                if (tdsec_same(&a[i], &have[j])) {
                    seen++;
                    break;
                }
        tdt_acls_free(have, nhave);
        if (r < 0 || seen == (add ? n : 0))
            break;
        if (td_time_mono_ms() - t0 > 20000)
            r = td_error_set(&err, -ETIMEDOUT, "the broker does not show them after 20 s");
        else
            usleep(20 * 1000);
    }
    if (r < 0)
        fprintf(stderr, "tdsec_it_%s %s %s: %s\n", add ? "grant" : "ungrant", principal, name,
                err.msg);
    tdt_kwire_close(w);
    td_kafka_props_clear(&props);
    return r < 0 ? -1 : 0;
}

int tdsec_it_grant(const char *user, int type, const char *name, int pattern, ...)
{
    va_list ap;
    int r;
    va_start(ap, pattern);
    r = tdsec_acls(true, user, type, name, pattern, ap);
    va_end(ap);
    return r;
}

int tdsec_it_ungrant(const char *user, int type, const char *name, int pattern, ...)
{
    va_list ap;
    int r;
    va_start(ap, pattern);
    r = tdsec_acls(false, user, type, name, pattern, ap);
    va_end(ap);
    return r;
}

long tdsec_it_count_acls(const char *user)
{
    td_kafka_props props = {0};
    tdt_kwire *w = NULL;
    td_error err = {0};
    tdt_acl *a = NULL;
    size_t n = 0;
    char principal[256];
    long k = -1;

    snprintf(principal, sizeof(principal), "User:%s", user);
    tdsec_it_admin_props(&props);
    if (tdt_kwire_open(&props, 10000, &w, &err) == 0 &&
        tdt_kwire_describe_acls(w, &a, &n, &err) == 0) {
        k = 0;
        for (size_t i = 0; i < n; i++)
            k += strcmp(a[i].principal, principal) == 0;
    } else {
        fprintf(stderr, "tdsec_it_count_acls: %s\n", err.msg);
    }
    tdt_acls_free(a, n);
    tdt_kwire_close(w);
    td_kafka_props_clear(&props);
    return k;
}
